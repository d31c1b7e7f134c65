namespace Observability.AspNetCore;

/// <summary>Header-name syntax (RFC 9110 token), checked once at startup.</summary>
internal static class HeaderNames
{
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
}
