/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "job-cluster-backend.h"

G_BEGIN_DECLS

/*
 * The string properties of JobClusterBackend's subclasses (the Dask
 * scheduler address, the IPython Parallel url file…) are kept by the base
 * under its mutex, by property name: a subclass only declares them, uses
 * these two as its class's get_property and set_property, and reads them
 * back when it builds the helper's arguments. An empty string is %NULL.
 * Any thread.
 */
void     job_cluster_backend_get_option_property (GObject      *object,
                                                  guint         prop_id,
                                                  GValue       *value,
                                                  GParamSpec   *pspec);
void     job_cluster_backend_set_option_property (GObject      *object,
                                                  guint         prop_id,
                                                  const GValue *value,
                                                  GParamSpec   *pspec);
char    *job_cluster_backend_dup_option          (JobClusterBackend *self,
                                                  const char        *name);

G_END_DECLS
