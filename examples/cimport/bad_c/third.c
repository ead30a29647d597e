/* Follows a list without checking for its end: a null dereference when the list is short. */
struct node { int value; struct node *next; };
int third_value(const struct node *n) { return n->next->next->value; }
