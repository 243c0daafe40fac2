/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "job-error.h"

G_DEFINE_QUARK (job-error-quark, job_error)
