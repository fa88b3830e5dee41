// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The VM's statically linked kmeshd links Debian's libmicrohttpd.a for its
 * local-reply responder (userspace/dataplane/responder.c). That archive is
 * built with HTTPS support and names GnuTLS, whose static chain is not in
 * Debian (p11-kit ships no static archive). The responder never asks for
 * TLS (no MHD_USE_TLS), so these stand-ins are only reached at library
 * init (gnutls_global_init: success) or never; each refuses.
 */
#include <stdlib.h>

void *(*gnutls_malloc)(size_t) = malloc;

int gnutls_global_init(void)
{
	return 0;
}

void gnutls_global_deinit(void)
{
}

const char *gnutls_strerror(int err)
{
	(void)err;
	return "TLS is not in the VM's kmeshd";
}

#define REFUSE(name) int name(void) { return -1; }
REFUSE(gnutls_alpn_set_protocols)
REFUSE(gnutls_bye)
REFUSE(gnutls_certificate_allocate_credentials)
REFUSE(gnutls_certificate_free_credentials)
REFUSE(gnutls_certificate_server_set_request)
REFUSE(gnutls_certificate_set_dh_params)
REFUSE(gnutls_certificate_set_retrieve_function2)
REFUSE(gnutls_certificate_set_retrieve_function3)
REFUSE(gnutls_certificate_set_x509_key_mem)
REFUSE(gnutls_certificate_set_x509_key_mem2)
REFUSE(gnutls_certificate_set_x509_trust_mem)
REFUSE(gnutls_cipher_get)
REFUSE(gnutls_credentials_set)
REFUSE(gnutls_deinit)
REFUSE(gnutls_dh_params_deinit)
REFUSE(gnutls_dh_params_import_pkcs3)
REFUSE(gnutls_dh_params_init)
REFUSE(gnutls_handshake)
REFUSE(gnutls_init)
REFUSE(gnutls_priority_deinit)
REFUSE(gnutls_priority_init)
REFUSE(gnutls_priority_set)
REFUSE(gnutls_protocol_get_version)
REFUSE(gnutls_psk_allocate_server_credentials)
REFUSE(gnutls_psk_free_server_credentials)
REFUSE(gnutls_psk_set_server_credentials_function)
REFUSE(gnutls_record_check_pending)
REFUSE(gnutls_record_get_direction)
REFUSE(gnutls_record_recv)
REFUSE(gnutls_record_send)
REFUSE(gnutls_session_get_ptr)
REFUSE(gnutls_session_set_ptr)
REFUSE(gnutls_transport_set_int2)
