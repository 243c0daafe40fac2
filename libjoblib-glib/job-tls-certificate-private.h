/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A self-signed certificate with its private key (ECDSA P-256, valid
 * from an hour ago for a year), made at run time for a listener that
 * needs TLS and was given no certificate: its peers pin it by
 * fingerprint, so no CA is involved. GnuTLS is in a module opened on
 * first use (tls/job-tls-gnutls.c, found by
 * job_worker_command_find_tls_module()). Fails with
 * G_IO_ERROR_NOT_SUPPORTED when the library was built without GnuTLS or
 * the module cannot be loaded. Thread-safe. */
GTlsCertificate *job_tls_certificate_new_self_signed (const char  *common_name,
                                                      GError     **error);

G_END_DECLS
