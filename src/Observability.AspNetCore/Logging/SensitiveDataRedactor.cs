using System.Text;
using Serilog.Events;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Keeps secrets out of log events written by ASP.NET Core and other libraries: the values of the
/// <c>Authorization</c>, <c>Cookie</c>, <c>Set-Cookie</c> and <c>X-Api-Key</c> headers (as HTTP logging writes them),
/// and query-string values whose key matches the configured list (hosting's <c>QueryString</c>, HttpClient's <c>Uri</c>, any
/// <c>Uri</c>, <c>Url</c> or <c>RequestUri</c> property, as text or <see cref="Uri"/>),
/// both as separate properties and inside the pre-rendered <c>HttpLog</c> text block of ASP.NET Core's HTTP logging.
/// The library's own completion event logs no headers and no query string, so it is not inspected.
/// </summary>
internal sealed class SensitiveDataRedactor
{
    public const string Redacted = "[Redacted]";
    private static readonly ScalarValue RedactedValue = new(Redacted);
    private static readonly string[] HeaderProperties = ["Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "authorization", "cookie", "set-cookie", "x-api-key"];
    private static readonly string[] UriProperties = ["QueryString", "Uri", "Url", "RequestUri"];
    private const string HttpLogProperty = "HttpLog";
    private readonly string[] _sensitiveKeys;

    public SensitiveDataRedactor(IEnumerable<string> sensitiveKeys) => _sensitiveKeys = [.. sensitiveKeys];

    public void Redact(LogEvent logEvent)
    {
        var properties = logEvent.Properties;
        foreach (var name in HeaderProperties)
        {
            if (properties.TryGetValue(name, out var value) && !IsRedacted(value))
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, RedactedValue));
            }
        }

        foreach (var name in UriProperties)
        {
            // Apps log URLs as text or as System.Uri (HttpRequestMessage.RequestUri); both are written as their text.
            if (properties.TryGetValue(name, out var value) && value is ScalarValue { Value: string or Uri } scalar
                && (scalar.Value as string ?? scalar.Value.ToString()) is { } text && text.Contains('?', StringComparison.Ordinal))
            {
                var redacted = RedactQuery(text);
                if (!ReferenceEquals(redacted, text))
                {
                    logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(redacted)));
                }
            }
        }

        if (properties.TryGetValue(HttpLogProperty, out var httpLog) && httpLog is ScalarValue { Value: string block })
        {
            var redacted = RedactHttpLogBlock(block);
            if (!ReferenceEquals(redacted, block))
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(HttpLogProperty, new ScalarValue(redacted)));
            }
        }
    }

    /// <summary>
    /// HTTP logging renders its fields as "Name: value" lines; redacts the sensitive header lines and the sensitive
    /// query values. Returns <paramref name="block"/> itself when nothing needed redacting.
    /// </summary>
    public string RedactHttpLogBlock(string block)
    {
        var lines = block.Split('\n');
        var changed = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(": ", StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = lines[i].AsSpan(0, colon);
            string? replacement = null;
            if (IsSensitiveHeader(name))
            {
                replacement = string.Concat(name, ": ", Redacted);
            }
            else if (name.Equals("QueryString", StringComparison.OrdinalIgnoreCase))
            {
                var value = lines[i][(colon + 2)..];
                var redactedValue = RedactQuery(value);
                replacement = ReferenceEquals(redactedValue, value) ? null : string.Concat(name, ": ", redactedValue);
            }

            if (replacement is not null && replacement != lines[i])
            {
                lines[i] = replacement;
                changed = true;
            }
        }

        return changed ? string.Join('\n', lines) : block;
    }

    private static bool IsSensitiveHeader(ReadOnlySpan<char> name)
    {
        for (var i = 0; i < 4; i++)
        {
            if (name.Equals(HeaderProperties[i], StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Returns <paramref name="text"/> itself when nothing in its query string is sensitive.</summary>
    public string RedactQuery(string text)
    {
        var query = text.IndexOf('?', StringComparison.Ordinal);
        if (query < 0)
        {
            return text;
        }

        StringBuilder? result = null;
        var position = query + 1;
        while (position <= text.Length)
        {
            var end = text.IndexOf('&', position);
            if (end < 0)
            {
                end = text.IndexOf('#', position) is var hash and >= 0 ? hash : text.Length;
            }

            var pair = text.AsSpan(position, end - position);
            var equals = pair.IndexOf('=');
            if (equals > 0 && IsSensitive(pair[..equals]))
            {
                result ??= new StringBuilder(text.Length).Append(text, 0, position);
                result.Append(pair[..(equals + 1)]).Append(Redacted);
            }
            else
            {
                result?.Append(pair);
            }

            if (end >= text.Length || text[end] == '#')
            {
                result?.Append(text, end, text.Length - end);
                break;
            }

            result?.Append('&');
            position = end + 1;
        }

        return result?.ToString() ?? text;
    }

    private bool IsSensitive(ReadOnlySpan<char> key)
    {
        var decoded = key.Contains('%') ? Uri.UnescapeDataString(key.ToString()).AsSpan() : key;
        foreach (var sensitive in _sensitiveKeys)
        {
            if (decoded.Contains(sensitive, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRedacted(LogEventPropertyValue value) => value is ScalarValue { Value: Redacted };
}
