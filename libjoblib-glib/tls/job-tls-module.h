/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The interface of the TLS module (libjoblib-glib-tls.so), looked up by
 * name with g_module_symbol(): nothing else of the module is used. */
#define JOB_TLS_MODULE_NAME "joblib-glib-tls"
#define JOB_TLS_MODULE_SYMBOL "job_tls_module_new_self_signed_pem"
#define JOB_TLS_MODULE_SERIAL_SIZE 16

/* Makes an ECDSA P-256 key and a self-signed certificate for
 * @common_name with the JOB_TLS_MODULE_SERIAL_SIZE bytes of @serial,
 * valid from an hour ago for a year. Returns the certificate then the
 * key, PEM (g_free() it, the key part is secret), or NULL with
 * *@message set to what failed (g_free() it). Thread-safe. */
typedef char *(*JobTlsModuleNewPemFunc) (const char   *common_name,
                                         const guint8 *serial,
                                         char        **message);

char *job_tls_module_new_self_signed_pem (const char   *common_name,
                                          const guint8 *serial,
                                          char        **message);

G_END_DECLS
