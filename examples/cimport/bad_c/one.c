int shared_name(void) { return 1; }
