/* C state that compile-time calls must not share with the running program. */
static int hits;
int counter_hit(void) { return ++hits; }
