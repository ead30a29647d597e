/* A C unit that lives only under the standard library's directory: `#import c` finds its
 * header and source through the stdlib search path (neither next to the importing file nor
 * in the working directory). */
#ifndef SX_FFI_RESOLVE_TEST_H
#define SX_FFI_RESOLVE_TEST_H

int sx_ffi_resolve_test_add(int a, int b);
int sx_ffi_resolve_test_mul(int a, int b);

#endif
