/* Not valid C: the C compiler's diagnostic is shown. */
int broken_decl(int x;
