/* certnn.h — the certnn library (libcertnn), one header for C programs.
 *
 *   #include <certnn.h>
 *   cc prog.c $(pkg-config --cflags --libs certnn)
 *
 * The library is the engine the certnn program runs: loaders and exact
 * evaluation (net_, prop_, ds_, and the cn_ base: status, errors,
 * allocation), sound bounds (bnd_), attacks (atk_), LP relaxations (lp_),
 * certificates and their independent checker (cert_), and the complete
 * verifier (vfy_).  Each module's header states its mathematics and the
 * ownership of every argument; this header only gathers them, so that each
 * declaration has one source, the module's own header, installed beside this
 * one under include/certnn/ with its path (models/models.h, ...).
 *
 * Errors follow one convention (models/models.h): a call that can fail
 * returns a cn_status and fills a cn_err whose message names the file,
 * line or field and what was expected; the library never prints.  A verdict
 * is data: vfy_verify returns CN_OK and puts sat / unsat / timeout /
 * unknown in its result.
 *
 * Only these prefixes are exported from the shared library; names with a
 * double underscore (bnd__backsub) are internal.  The public headers need
 * GMP's <gmp.h> (counterexamples are exact rationals, mpq_t), which
 * pkg-config's flags provide.  The headers are C11 (not C++). */
#ifndef CERTNN_H
#define CERTNN_H

#include "models/models.h"
#include "bounds/bounds.h"
#include "attacks/attacks.h"
#include "lp/lp.h"
#include "certs/certs.h"
#include "verifier/verifier.h"

#endif
