/* options.c — the engine's options at their defaults, from the table of
 * verifier/options.h. */
#include "config.h"

#include <string.h>

#include "verifier/verifier.h"

int vfy_opt_choice(const char *choices, const char *word)
{
    size_t len = strlen(word);
    int k = 0;
    for (const char *w = choices; *w; k++) {
        size_t n = strcspn(w, " ");
        if (n == len && strncmp(w, word, n) == 0)
            return k;
        w += n + (w[n] == ' ');
    }
    return -1;
}

void vfy_opts_init(vfy_opts *o)
{
    memset(o, 0, sizeof *o);
#define VFY_OPT_DEFAULT_DBL(type, def, choices) (type)(def)
#define VFY_OPT_DEFAULT_INT(type, def, choices) (type)(def)
#define VFY_OPT_DEFAULT_ENUM(type, def, choices) (type)vfy_opt_choice(choices, def)
#define VFY_OPT_INIT(kind, type, field, name, sh, arg, def, low, high, choices, help)            \
    o->field = VFY_OPT_DEFAULT_##kind(type, def, choices);
    VFY_OPTIONS(VFY_OPT_INIT)
#undef VFY_OPT_INIT
#undef VFY_OPT_DEFAULT_ENUM
#undef VFY_OPT_DEFAULT_INT
#undef VFY_OPT_DEFAULT_DBL
}
