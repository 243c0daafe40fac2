/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @func on the thread that iterates @context (@owner) and waits until
 * it has returned; on @owner itself, runs it at once. The worker pools use
 * it to touch their state, which only their own thread may. */
void job_context_call_sync (GMainContext *context,
                            GThread      *owner,
                            GSourceFunc   func,
                            gpointer      data);

G_END_DECLS
