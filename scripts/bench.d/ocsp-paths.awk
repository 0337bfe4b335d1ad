# For scripts/bench-revocation: turns serials (lower-case hex, one a line) into GET OCSP
# request paths. Every request is the same DER with only the serial changed, so the caller
# passes the DER of one request without its serial bytes as `prefix` (lower-case hex); each
# line becomes base64(prefix || serial) with '/', '+' and '=' URL-escaped (RFC 5019 §5).
# One awk process does the lot: thousands of openssl or base64 processes would take longer
# than the measurement.
BEGIN {
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    digits = "0123456789abcdef"
}
NF {
    hex = prefix $1
    n = length(hex) / 2
    for (i = 0; i < n; i++) {
        byte[i] = (index(digits, substr(hex, 2 * i + 1, 1)) - 1) * 16 \
            + index(digits, substr(hex, 2 * i + 2, 1)) - 1
    }
    out = ""
    for (i = 0; i < n; i += 3) {
        v = byte[i] * 65536
        if (i + 1 < n) v += byte[i + 1] * 256
        if (i + 2 < n) v += byte[i + 2]
        out = out substr(b64, int(v / 262144) % 64 + 1, 1) substr(b64, int(v / 4096) % 64 + 1, 1)
        out = out (i + 1 < n ? substr(b64, int(v / 64) % 64 + 1, 1) : "=")
        out = out (i + 2 < n ? substr(b64, v % 64 + 1, 1) : "=")
    }
    gsub(/\//, "%2F", out)
    gsub(/\+/, "%2B", out)
    gsub(/=/, "%3D", out)
    print out
}
