#ifndef CRTAUTH_CLDAP_SHIM_H
#define CRTAUTH_CLDAP_SHIM_H
// OpenLDAP's client library (Debian: libldap-dev).
#include <ldap.h>
#endif
