using System.Collections.Frozen;

namespace Observability.AspNetCore.Core;

/// <summary>Header-name syntax (RFC 9110 token) and the names a request ID must not take, checked once at startup.</summary>
internal static class HeaderNames
{
    /// <summary>
    /// Headers that HTTP, the server or browsers already give a meaning to: a request ID written into one breaks every
    /// response (Content-Length, Transfer-Encoding) or changes how clients and proxies treat it (Connection, Set-Cookie).
    /// </summary>
    private static readonly FrozenSet<string> Reserved = new[]
    {
        // Hop-by-hop and framing (RFC 9110 7.6.1, RFC 9112), which the server owns.
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authorization", "Host", "Date", "Server", "Alt-Svc", "Expect",

        // Meaning to clients, caches and browsers.
        "Authorization", "WWW-Authenticate", "Cookie", "Set-Cookie", "Location", "Retry-After", "Allow",
        "Cache-Control", "Pragma", "Expires", "Age", "ETag", "Last-Modified", "Vary", "Range", "Referer",
        "User-Agent", "Origin", "Strict-Transport-Security", "Forwarded", "X-Real-IP",
        "traceparent", "tracestate", "baggage",

        // Written by the library itself beside the request ID.
        "X-Response-Time",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] ReservedPrefixes = ["Content-", "Accept", "If-", "Access-Control-", "X-Forwarded-", "Sec-"];

    public static bool IsValidHeaderName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 256)
        {
            return false;
        }

        foreach (var c in name)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when <paramref name="name"/> is a header the request ID must not be written into (see <see cref="Reserved"/>).</summary>
    public static bool IsReserved(string name)
    {
        if (Reserved.Contains(name))
        {
            return true;
        }

        foreach (var prefix in ReservedPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
