using Microsoft.AspNetCore.Routing.Patterns;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The paths the library maps its endpoints at (<c>Metrics:Path</c>, <c>Health:Path</c>) are literal: a route
/// parameter such as <c>/{**all}</c> would answer every unmatched URL, and a malformed template would throw a
/// <c>RoutePatternException</c> naming neither the key nor the value.
/// </summary>
internal static class LiteralPath
{
    public const string Rule = "must start with '/' and be a literal path (no white space, '?', '#', '{', '}', '%', empty, '.' or '..' segment; write characters unencoded)";

    public static bool IsValid(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return false;
        }

        foreach (var c in path)
        {
            // Routing matches the decoded path, so "/a%20b" would answer only "/a%2520b".
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '?' or '#' or '{' or '}' or '%')
            {
                return false;
            }
        }

        // "/" alone and one trailing slash are fine; any other empty segment, "." or ".." never matches a request path.
        var segments = path.TrimEnd('/').Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            if (segments[i] is "" or "." or "..")
            {
                return false;
            }
        }

        try
        {
            var pattern = RoutePatternFactory.Parse(path);
            return pattern.Parameters.Count == 0;
        }
        catch (RoutePatternException)
        {
            return false;
        }
    }
}
