/* sign.c — Ed25519 keys and signatures (libsodium) for certificates. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "certs/certs_int.h"

static const char hexdig[] = "0123456789abcdef";

void cert__hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;                  /* uppercase is refused: one spelling per value */
}

bool cert__unhex(const char *s, unsigned char *b, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return false;
        b[i] = (unsigned char)(h << 4 | l);
    }
    return true;
}

/* libsodium must be initialised once; sodium_init is idempotent and
 * thread-safe, and only fails when no entropy source can be opened. */
static bool sodium_ready(void) { return sodium_init() >= 0; }

void cert__sign(const cert_key *k, const char *msg, size_t len, unsigned char sig[64])
{
    CN_REQUIRE(sodium_ready(), "libsodium initialises");
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, k->sk);
}

bool cert__verify(const unsigned char pk[32], const char *msg, size_t len,
                  const unsigned char sig[64])
{
    if (!sodium_ready())
        return false;
    return crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk) == 0;
}

void cert_key_from_seed(cert_key *k, const unsigned char seed[32])
{
    CN_REQUIRE(k && seed && sodium_ready(), "a key, a seed and libsodium");
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

void cert_key_wipe(cert_key *k)
{
    if (k)
        sodium_memzero(k, sizeof *k);
}

/* Writes text to a new file (O_EXCL) with the given mode. */
static cn_status write_new(const char *path, const char *text, mode_t mode, cn_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return cn_fail(err, CN_EIO, "%s: cannot create: %s", path,
                       errno == EEXIST ? "file exists (refusing to overwrite a key)"
                                       : strerror(errno));
    size_t len = strlen(text);
    bool ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len;
    ok &= fsync(fd) == 0;
    ok &= close(fd) == 0;
    if (!ok) {
        unlink(path);
        return cn_fail(err, CN_EIO, "%s: write error", path);
    }
    return CN_OK;
}

cn_status cert_keygen(const char *name, cn_err *err)
{
    CN_REQUIRE(name && *name, "a key name");
    if (!sodium_ready())
        return cn_fail(err, CN_EINTERNAL, "libsodium could not be initialised");
    size_t n = strlen(name) + 5;
    char *kpath = cn_malloc(n), *ppath = cn_malloc(n);
    cn_status s = CN_OK;
    cert_key k;
    char text[2 * 64 + 2];
    if (!kpath || !ppath) {
        s = cn_fail(err, CN_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(kpath, n, "%s.key", name);
    snprintf(ppath, n, "%s.pub", name);
    struct stat sb;
    if (stat(kpath, &sb) == 0 || stat(ppath, &sb) == 0) {
        s = cn_fail(err, CN_EIO, "%s: key files exist (refusing to overwrite %s)", name,
                    stat(kpath, &sb) == 0 ? kpath : ppath);
        goto done;
    }
    crypto_sign_keypair(k.pk, k.sk);
    cert__hex(k.sk, 64, text);
    strcat(text, "\n");
    s = write_new(kpath, text, 0600, err);
    sodium_memzero(text, sizeof text);
    if (s != CN_OK)
        goto done;
    cert__hex(k.pk, 32, text);
    strcat(text, "\n");
    s = write_new(ppath, text, 0644, err);
    if (s != CN_OK)
        unlink(kpath);
done:
    cert_key_wipe(&k);
    cn_free(kpath);
    cn_free(ppath);
    return s;
}

/* Reads a file holding 2n hex digits and an optional "\n". */
static cn_status read_hex(const char *path, unsigned char *out, size_t n, const char *what,
                          cn_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cn_status s = cn_read_file(path, &data, &len, err);
    if (s != CN_OK)
        return s;
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len != 2 * n || !cert__unhex((const char *)data, out, n))
        s = cn_fail(err, CN_EPARSE, "%s: expected %s as %zu lowercase hex digits", path, what,
                    2 * n);
    sodium_memzero(data, len);
    cn_free(data);
    return s;
}

cn_status cert_key_load(const char *path, cert_key *k, cn_err *err)
{
    CN_REQUIRE(path && k, "a path and a key");
    if (!sodium_ready())
        return cn_fail(err, CN_EINTERNAL, "libsodium could not be initialised");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cn_fail(err, CN_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* the public half given by mistake (NAME.pub for NAME.key): say so, rather
     * than that its mode 644 is too open for a secret key */
    unsigned char pub[32];
    cn_err perr;
    if (S_ISREG(sb.st_mode) && sb.st_size <= 2 * 32 + 1 &&
        cert_pubkey_load(path, pub, &perr) == CN_OK)
        return cn_fail(err, CN_EINVAL, "%s: this is an Ed25519 public key; signing needs the "
                                       "secret key (NAME.key of 'certnn keygen --out NAME')",
                       path);
    if (sb.st_mode & 077)
        return cn_fail(err, CN_EINVAL, "%s: secret key readable by others (mode %03o); "
                                       "chmod 600 it", path, (unsigned)(sb.st_mode & 0777));
    cert_key t;
    cn_status s = read_hex(path, t.sk, 64, "an Ed25519 secret key", err);
    if (s == CN_OK) {
        /* the public half is stored in the secret key; check it matches the seed */
        unsigned char seed[32];
        cert_key c;
        crypto_sign_ed25519_sk_to_seed(seed, t.sk);
        crypto_sign_seed_keypair(c.pk, c.sk, seed);
        sodium_memzero(seed, sizeof seed);
        if (sodium_memcmp(c.sk, t.sk, 64) != 0)
            s = cn_fail(err, CN_EPARSE, "%s: not a valid Ed25519 secret key", path);
        else
            *k = c;
        cert_key_wipe(&c);
    }
    cert_key_wipe(&t);
    return s;
}

cn_status cert_pubkey_load(const char *path, unsigned char pk[32], cn_err *err)
{
    CN_REQUIRE(path && pk, "a path and a key buffer");
    unsigned char t[32];
    cn_status s = read_hex(path, t, 32, "an Ed25519 public key", err);
    if (s == CN_OK)
        memcpy(pk, t, 32);
    return s;
}
