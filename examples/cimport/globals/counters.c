/* C globals the sx side reads and writes as `name : T extern;`. */
int hits = 5;
double ratio = 0.25;
const char *label = "counters";
struct pair { int a; int b; } pair_value = { 3, 4 };

int bump(void) { return ++hits; }
int pair_sum(void) { return pair_value.a + pair_value.b; }
