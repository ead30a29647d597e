/* Two ints that C writes side by side: together they can spell a mapped address. The struct is
 * returned in memory (more than 16 bytes). */
struct halves { int lo; int hi; double d1; double d2; };

/* The halves of (an address inside a live C buffer) + 2, and that address's low half in *lo. */
struct halves spell_address(int *lo);
