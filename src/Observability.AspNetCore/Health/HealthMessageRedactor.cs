using System.Text;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.Health;

/// <summary>
/// Scrubs the text a health response shows of a check's description or error. Driver messages sometimes quote the
/// connection string or a URI with credentials (and checks written by apps may do anything), while
/// <c>/health/detailed</c> is read by people and dashboards that must never see a password.
/// </summary>
internal static partial class HealthMessageRedactor
{
    public const string Redacted = "[Redacted]";

    // Generous on purpose: a long driver message is diagnostic noise on a health page, and a bound keeps a check that
    // throws with a huge message from bloating every probe response.
    private const int MaxLength = 500;

    public static string? Redact(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return message;
        }

        var text = DropStackFrames(message);
        text = SecretAssignment().Replace(text, static m => m.Groups["key"].Value + m.Groups["sep"].Value + Redacted);
        text = UriCredentials().Replace(text, static m => m.Groups["head"].Value + Redacted + "@");
        return text.Length <= MaxLength ? text : string.Concat(text.AsSpan(0, MaxLength), "…");
    }

    /// <summary>One line: lines that look like stack frames (<c>   at Type.Method()</c>) are dropped, the others joined.</summary>
    private static string DropStackFrames(string message)
    {
        if (message.IndexOfAny(['\r', '\n']) < 0)
        {
            return message;
        }

        var result = new StringBuilder(message.Length);
        foreach (var line in message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("at ", StringComparison.Ordinal) || line.StartsWith("--- End of", StringComparison.Ordinal))
            {
                continue;
            }

            if (result.Length > 0)
            {
                result.Append(' ');
            }

            result.Append(line);
        }

        return result.ToString();
    }

    // key=value and key: value, as in ADO.NET and StackExchange.Redis connection strings ("Password=x;", "password=x,"),
    // with quoted values; the value ends at ';', ',', '&' or white space.
    [GeneratedRegex(@"(?<key>\b(?:password|passwd|pwd|pass|secret|client[-_ ]?secret|(?:access[-_ ]?)?token|api[-_ ]?key|access[-_ ]?key|account[-_ ]?key|shared[-_ ]?access[-_ ]?key))(?<sep>\s*[=:]\s*)(?:""[^""]*""|'[^']*'|[^;,&\s]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretAssignment();

    // scheme://user:password@host
    [GeneratedRegex(@"(?<head>\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@/\s]*@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UriCredentials();
}
