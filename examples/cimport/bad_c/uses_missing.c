/* Calls a function no library defines: the program that imports it must not load. */
int sx_helper_defined_nowhere(int);
int uses_missing_helper(int x) { return sx_helper_defined_nowhere(x) + 1; }
