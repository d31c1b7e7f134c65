namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>
/// Which meters the bridge exports: every meter on the allow list (null means all) and not on the exclude list; the
/// exclude list wins. The built-in exclusions apply on top, except to a meter the allow list names exactly, so a user
/// can still ask for one by name without restating the rest. An entry ending in <c>*</c> matches a name prefix, any other entry the exact name. Matching is
/// ordinal (case-sensitive) because meter names are: <c>Shop.Orders</c> and <c>shop.orders</c> are two meters.
/// </summary>
internal sealed class MeterFilter
{
    private readonly Pattern[]? _allow;
    private readonly Pattern[] _exclude;
    private readonly Pattern[] _builtIn;

    public MeterFilter(IReadOnlyList<string>? allow, IReadOnlyList<string> exclude, IReadOnlyList<string>? builtInExclude = null)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        _allow = allow is null ? null : Compile(allow);
        _exclude = Compile(exclude);
        _builtIn = builtInExclude is null ? [] : Compile(builtInExclude);
    }

    /// <summary>Evaluated once per published instrument, never per measurement.</summary>
    public bool IsExported(string meterName)
    {
        ArgumentNullException.ThrowIfNull(meterName);
        return (_allow is null || Matches(_allow, meterName))
            && !Matches(_exclude, meterName)
            && (!Matches(_builtIn, meterName) || NamedExactly(_allow, meterName));
    }

    private static bool NamedExactly(Pattern[]? patterns, string name)
    {
        foreach (var p in patterns ?? [])
        {
            if (!p.IsPrefix && string.Equals(name, p.Text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Matches(Pattern[] patterns, string name)
    {
        foreach (var p in patterns)
        {
            if (p.IsPrefix ? name.StartsWith(p.Text, StringComparison.Ordinal) : string.Equals(name, p.Text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static Pattern[] Compile(IReadOnlyList<string> entries)
    {
        var patterns = new List<Pattern>(entries.Count);
        foreach (var entry in entries)
        {
            if (string.IsNullOrWhiteSpace(entry))
            {
                continue;
            }

            var text = entry.Trim();
            patterns.Add(text.EndsWith('*') ? new Pattern(text[..^1], IsPrefix: true) : new Pattern(text, IsPrefix: false));
        }

        return [.. patterns];
    }

    private readonly record struct Pattern(string Text, bool IsPrefix);
}
