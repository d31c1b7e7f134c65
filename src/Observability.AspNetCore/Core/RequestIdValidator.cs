using Microsoft.Extensions.Primitives;

namespace Observability.AspNetCore.Core;

/// <summary>Decides whether an incoming request ID can be kept as it is.</summary>
internal static class RequestIdValidator
{
    public const int MaxLength = 128;

    /// <summary>
    /// True for exactly one header value of 1–128 characters of ASCII letters, digits and <c>-_.:</c>. Everything else
    /// (empty, too long, several values, CR/LF, spaces, quotes, non-ASCII) is replaced, so a hostile value can never
    /// forge a log line or a response header.
    /// </summary>
    public static bool IsValid(StringValues values, out string value)
    {
        value = string.Empty;
        if (values.Count != 1)
        {
            return false;
        }

        var candidate = values[0];
        if (string.IsNullOrEmpty(candidate) || candidate.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in candidate)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        value = candidate;
        return true;
    }
}
