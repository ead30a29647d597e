int shared_name(void) { return 2; }
