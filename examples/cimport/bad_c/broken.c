/* Does not compile: the diagnostic shows the C compiler's message. */
int broken(void) { return undeclared_name + 1; }
