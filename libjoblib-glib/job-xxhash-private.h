/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <xxhash.h>

/* On x86, libxxhash also exports XXH3 entry points that choose the
 * widest vector unit of the running CPU (AVX2, AVX-512) instead of the
 * SSE2 code the library was compiled for; the header below renames the
 * XXH3 calls to them. The hashes are the same, so files keep their
 * checksums; an array is hashed several times faster. */
#ifdef HAVE_XXH_X86DISPATCH
#include <xxh_x86dispatch.h>
#endif
