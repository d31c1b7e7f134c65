using System.Text;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.Metrics;

/// <summary>
/// <c>Observability:Metrics:ExcludePaths</c> compiled once into one regular expression: <c>*</c> matches within a
/// segment, <c>**</c> across segments, <c>?</c> one character; case-insensitive, as ASP.NET Core routing is.
/// </summary>
internal static class PathGlob
{
    public static Regex? Compile(IList<string>? globs)
    {
        if (globs is null || globs.Count == 0)
        {
            return null;
        }

        var pattern = new StringBuilder("^(?:");
        for (var i = 0; i < globs.Count; i++)
        {
            if (i > 0)
            {
                pattern.Append('|');
            }

            var glob = globs[i];
            for (var j = 0; j < glob.Length; j++)
            {
                var c = glob[j];
                if (c == '*' && j + 1 < glob.Length && glob[j + 1] == '*')
                {
                    pattern.Append(".*");
                    j++;
                }
                else if (c == '*')
                {
                    pattern.Append("[^/]*");
                }
                else if (c == '?')
                {
                    pattern.Append("[^/]");
                }
                else
                {
                    pattern.Append(Regex.Escape(c.ToString()));
                }
            }
        }

        pattern.Append(")$");
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.Compiled, TimeSpan.FromMilliseconds(50));
    }
}
