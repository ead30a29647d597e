#include "sx_ffi_resolve_test.h"

int sx_ffi_resolve_test_add(int a, int b) { return a + b; }
int sx_ffi_resolve_test_mul(int a, int b) { return a * b; }
