using System.Text;

namespace Observability.AspNetCore.Metrics.Bridge;

/// <summary>What an instrument becomes in Prometheus.</summary>
internal enum BridgedKind
{
    /// <summary><c>Counter&lt;T&gt;</c>: each measurement is an increment.</summary>
    Counter,

    /// <summary><c>ObservableCounter&lt;T&gt;</c>: each observation is the cumulative value.</summary>
    ObservableCounter,

    /// <summary><c>UpDownCounter&lt;T&gt;</c>: each measurement is a delta of a gauge.</summary>
    UpDownCounter,

    /// <summary><c>ObservableUpDownCounter&lt;T&gt;</c>, <c>ObservableGauge&lt;T&gt;</c>, <c>Gauge&lt;T&gt;</c>: each value replaces the last.</summary>
    Gauge,

    /// <summary><c>Histogram&lt;T&gt;</c>.</summary>
    Histogram,
}

/// <summary>
/// A UCUM unit (the <c>System.Diagnostics.Metrics</c> convention) resolved to the Prometheus name suffix and the factor that
/// converts a measurement into that suffix's unit.
/// </summary>
internal sealed class UnitConversion(string suffix, double multiplier, double divisor, string[] nameAliases)
{
    /// <summary>Appended to the metric name (before <c>_total</c> for counters), e.g. <c>seconds</c>.</summary>
    public string Suffix { get; } = suffix;

    // Both are exact small integers, so value * multiplier / divisor converts 1500 ms to exactly 1.5 s.
    public double Multiplier { get; } = multiplier;

    public double Divisor { get; } = divisor;

    /// <summary>Name endings that already spell this unit (<c>latency_ms</c>); replaced by the suffix.</summary>
    public string[] NameAliases { get; } = nameAliases;

    public bool IsIdentity => Multiplier == 1 && Divisor == 1;

    public double Convert(double value) => value * Multiplier / Divisor;
}

/// <summary>
/// Turns instrument names, units and tag keys into names <c>promtool check metrics</c> accepts. The rules, all
/// deterministic so a metric keeps its name across restarts and versions:
/// <list type="bullet">
/// <item>Characters outside <c>[a-z0-9_]</c> become <c>_</c>, runs of <c>_</c> collapse to one, leading and trailing <c>_</c>
/// go, a leading digit gets a <c>_</c> in front; <c>camelCase</c> becomes <c>camel_case</c> (promtool rejects camel case) and
/// everything is lower case. Colons go too: they are legal but reserved for recording rules, and promtool flags them.</item>
/// <item>The unit becomes a suffix in the Prometheus base unit: promtool rejects non-base units such as <c>_milliseconds</c>,
/// so <c>ms</c>, <c>us</c>, <c>ns</c>, <c>min</c>, <c>h</c>, <c>d</c> become <c>_seconds</c> and <c>KiBy</c>, <c>MBy</c>, <c>bit</c>
/// and friends become <c>_bytes</c>, and the values (and histogram buckets) are converted. <c>1</c> and annotations
/// (<c>{request}</c>) add nothing; <c>X/Y</c> adds <c>X_per_Y</c>; any other unit is appended sanitized.</item>
/// <item>Counters end in exactly one <c>_total</c>, after the unit.</item>
/// <item>Names promtool reserves for other types get <c>_value</c> appended: a gauge ending in <c>_total</c>, <c>_count</c>,
/// <c>_sum</c> or <c>_bucket</c> (e.g. <c>queue_count</c> becomes <c>queue_count_value</c>), and a histogram ending in
/// <c>_total</c>. Appending keeps the instrument's own words (stripping would merge <c>memory_total</c> into <c>memory</c>)
/// and can never produce a name another rule produces for a different kind, so it cannot create a collision.</item>
/// </list>
/// </summary>
internal static class PrometheusNaming
{
    private const string ReservedRenameSuffix = "_value";

    private static readonly UnitConversion Seconds = new("seconds", 1, 1, ["s", "sec", "secs", "second"]);
    private static readonly UnitConversion Bytes = new("bytes", 1, 1, ["by", "b", "byte"]);

    // UCUM codes as .NET and OpenTelemetry semantic conventions use them; case-sensitive because UCUM is (Mm vs mm).
    private static readonly Dictionary<string, UnitConversion> Units = new(StringComparer.Ordinal)
    {
        ["s"] = Seconds,
        ["ms"] = new("seconds", 1, 1_000, ["ms", "msec", "millis", "millisecond", "milliseconds"]),
        ["us"] = new("seconds", 1, 1_000_000, ["us", "usec", "micros", "microsecond", "microseconds"]),
        ["ns"] = new("seconds", 1, 1_000_000_000, ["ns", "nsec", "nanos", "nanosecond", "nanoseconds"]),
        ["min"] = new("seconds", 60, 1, ["min", "mins", "minute", "minutes"]),
        ["h"] = new("seconds", 3_600, 1, ["h", "hour", "hours"]),
        ["d"] = new("seconds", 86_400, 1, ["d", "day", "days"]),
        ["By"] = Bytes,
        ["kBy"] = new("bytes", 1_000, 1, ["kb", "kby", "kilobytes"]),
        ["KBy"] = new("bytes", 1_000, 1, ["kb", "kby", "kilobytes"]),
        ["MBy"] = new("bytes", 1_000_000, 1, ["mb", "mby", "megabytes"]),
        ["GBy"] = new("bytes", 1_000_000_000, 1, ["gb", "gby", "gigabytes"]),
        ["TBy"] = new("bytes", 1_000_000_000_000, 1, ["tb", "tby", "terabytes"]),
        ["KiBy"] = new("bytes", 1L << 10, 1, ["kib", "kiby", "kibibytes"]),
        ["MiBy"] = new("bytes", 1L << 20, 1, ["mib", "miby", "mebibytes"]),
        ["GiBy"] = new("bytes", 1L << 30, 1, ["gib", "giby", "gibibytes"]),
        ["TiBy"] = new("bytes", 1L << 40, 1, ["tib", "tiby", "tebibytes"]),
        ["bit"] = new("bytes", 1, 8, ["bit", "bits"]),
        ["%"] = new("percent", 1, 1, ["pct"]),
        ["m"] = new("meters", 1, 1, ["m", "meter"]),
        ["g"] = new("grams", 1, 1, ["g", "gram"]),
        ["J"] = new("joules", 1, 1, ["j", "joule"]),
        ["V"] = new("volts", 1, 1, ["v", "volt"]),
        ["A"] = new("amperes", 1, 1, ["a", "ampere"]),
        ["W"] = new("watts", 1, 1, ["w", "watt"]),
        ["Hz"] = new("hertz", 1, 1, ["hz"]),
        ["Cel"] = new("celsius", 1, 1, ["cel"]),
        ["K"] = new("kelvin", 1, 1, ["k"]),
    };

    // Singular forms after "per": promtool's unit check knows plurals only, and "bytes_per_second" is the convention.
    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["ms"] = "millisecond",
        ["min"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["By"] = "byte",
        ["1"] = string.Empty,
    };

    private static readonly string[] GaugeReservedSuffixes = ["_total", "_count", "_sum", "_bucket"];

    /// <summary>
    /// Lower snake case over <c>[a-z0-9_]</c>, never starting with a digit or <c>_</c> (so never <c>__</c>, which label
    /// names reserve); empty when the input has no letter or digit.
    /// </summary>
    public static string Sanitize(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var sb = new StringBuilder(raw.Length + 4);
        var previous = '\0';
        foreach (var c in raw)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                // camelCase and PascalCase words: a capital after a lower-case letter or digit starts a new word.
                if (char.IsAsciiLetterLower(previous) || char.IsAsciiDigit(previous))
                {
                    AppendSeparator(sb);
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            {
                sb.Append(c);
            }
            else
            {
                AppendSeparator(sb);
            }

            previous = c;
        }

        while (sb.Length > 0 && sb[^1] == '_')
        {
            sb.Length--;
        }

        if (sb.Length == 0)
        {
            return string.Empty;
        }

        if (char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }

        return sb.ToString();

        static void AppendSeparator(StringBuilder sb)
        {
            if (sb.Length > 0 && sb[^1] != '_')
            {
                sb.Append('_');
            }
        }
    }

    /// <summary>The unit's suffix and conversion; null when the unit adds nothing (none, <c>1</c>, <c>{annotation}</c>).</summary>
    public static UnitConversion? ResolveUnit(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return null;
        }

        unit = StripAnnotations(unit).Trim();
        if (unit.Length == 0 || unit == "1")
        {
            return null;
        }

        if (Units.TryGetValue(unit, out var known))
        {
            return known;
        }

        var slash = unit.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            // A rate: the numerator keeps its conversion (KiBy/s is counted in bytes per second), the denominator is
            // only named, because converting it would silently change what the user measured.
            var numerator = slash == 0 ? null : ResolveUnit(unit[..slash]);
            var denominatorUnit = unit[(slash + 1)..];
            var denominator = PerUnits.TryGetValue(denominatorUnit, out var per) ? per : Sanitize(denominatorUnit);
            var suffix = denominator.Length == 0
                ? numerator?.Suffix ?? string.Empty
                : (numerator is null ? "per_" : numerator.Suffix + "_per_") + denominator;
            return suffix.Length == 0 ? null : new UnitConversion(suffix, numerator?.Multiplier ?? 1, numerator?.Divisor ?? 1, []);
        }

        var sanitized = Sanitize(unit);
        return sanitized.Length == 0 ? null : new UnitConversion(sanitized, 1, 1, []);
    }

    /// <summary>
    /// The metric name for an instrument: sanitized, with the unit suffix, <c>_total</c> for counters and reserved endings
    /// renamed (see the class summary). Empty when the instrument name has no usable character.
    /// </summary>
    public static string MetricName(string instrumentName, UnitConversion? unit, BridgedKind kind)
    {
        var name = Sanitize(instrumentName);
        if (name.Length == 0)
        {
            return string.Empty;
        }

        var isCounter = kind is BridgedKind.Counter or BridgedKind.ObservableCounter;
        if (isCounter)
        {
            name = StripWord(name, "total");
            if (name.Length == 0)
            {
                name = "total";
            }
        }

        if (unit is not null && !HasWord(name, unit.Suffix))
        {
            foreach (var alias in unit.NameAliases)
            {
                if (name.EndsWith("_" + alias, StringComparison.Ordinal))
                {
                    // "latency_ms" measured in ms is exported in seconds: the abbreviation would now be wrong, and promtool
                    // rejects abbreviated units anyway.
                    name = name[..^(alias.Length + 1)];
                    break;
                }
            }

            name = name + "_" + unit.Suffix;
        }

        if (isCounter)
        {
            return name + "_total";
        }

        if (kind == BridgedKind.Histogram)
        {
            return name.EndsWith("_total", StringComparison.Ordinal) ? name + ReservedRenameSuffix : name;
        }

        foreach (var reserved in GaugeReservedSuffixes)
        {
            if (name.EndsWith(reserved, StringComparison.Ordinal))
            {
                return name + ReservedRenameSuffix;
            }
        }

        return name;
    }

    /// <summary>
    /// A label name for a tag key; empty when the key has no usable character. <c>le</c> and <c>quantile</c> (reserved for
    /// histograms and summaries; promtool rejects them elsewhere and prometheus-net rejects <c>le</c> on histograms) and
    /// names in <paramref name="taken"/> (the registry's static labels) become <c>exported_&lt;name&gt;</c>, the prefix
    /// Prometheus itself uses when a scraped label clashes with a target label.
    /// </summary>
    public static string LabelName(string tagKey, IReadOnlyCollection<string> taken)
    {
        var name = Sanitize(tagKey);
        if (name is "le" or "quantile" || Contains(taken, name))
        {
            name = "exported_" + name;
        }

        return name;

        static bool Contains(IReadOnlyCollection<string> names, string name)
        {
            foreach (var n in names)
            {
                if (string.Equals(n, name, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Help text in the exposition's escaping: prometheus-net 8.2.1 writes HELP verbatim, so a newline would break the scrape.</summary>
    public static string EscapeHelp(string help)
    {
        ArgumentNullException.ThrowIfNull(help);
        return help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\r\n", "\\n", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\n", StringComparison.Ordinal);
    }

    private static string StripAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }

        var sb = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static bool HasWord(string name, string word) =>
        name == word
        || name.StartsWith(word + "_", StringComparison.Ordinal)
        || name.EndsWith("_" + word, StringComparison.Ordinal)
        || name.Contains("_" + word + "_", StringComparison.Ordinal);

    private static string StripWord(string name, string word) =>
        name == word ? string.Empty : name.EndsWith("_" + word, StringComparison.Ordinal) ? name[..^(word.Length + 1)] : name;
}
