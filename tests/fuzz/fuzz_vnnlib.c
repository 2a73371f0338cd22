/* fuzz_vnnlib.c — libFuzzer target for the VNN-LIB reader: any bytes must
 * give CN_OK (and a property that can be written and freed) or a clean
 * error, with no crash, leak or undefined behaviour.  Run by run.sh. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "models/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prop *p = NULL;
    cn_err err;
    /* a small DNF limit keeps each input cheap */
    cn_status st = prop_parse_vnnlib_mem((const char *)data, size, "fuzz", 64, &p, &err);
    if (st == CN_OK) {
        /* what was read can be written and read back */
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            bool exact;
            if (prop_write_vnnlib(p, f, &exact, &err) != CN_OK)
                abort();
            fclose(f);
        }
        if (prop_n_cases(p) < 1 || prop_n_in(p) < 1 || prop_n_out(p) < 1)
            abort();
        prop_free(p);
    } else if (p != NULL || err.msg[0] == '\0') {
        abort();               /* no output on failure; every failure has a message */
    }
    return 0;
}
