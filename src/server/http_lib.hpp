// Includes cpp-httplib the way Debian's libcpp-httplib (a compiled library, not header-only) was
// built: its classes change layout with these macros, so every file that uses httplib includes
// this header instead of <httplib.h>. Link with -lcpp-httplib (pkg-config cpp-httplib).
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT 1
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT 1
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT 1
#endif

#include <httplib.h>
