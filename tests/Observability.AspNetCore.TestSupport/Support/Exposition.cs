using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>A sample line of the Prometheus text exposition, parsed the way Prometheus reads it.</summary>
internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public override string ToString() =>
        Exposition.Describe(Name, [.. Labels.Select(l => (l.Key, l.Value))]) + " " + Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The one reader of the Prometheus text exposition in the tests: samples are parsed as Prometheus reads them (label
/// order irrelevant, label values unescaped), so a test asserts what a scrape stores, not how the line was spelled.
/// </summary>
internal static partial class Exposition
{
    public static IReadOnlyList<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"Not a valid sample line: {line}");
            samples.Add(new Sample(m.Groups["name"].Value, ParseLabels(m.Groups["labels"].Value, line), ParseValue(m.Groups["value"].Value, line)));
        }

        return samples;
    }

    /// <summary>The <c># TYPE</c> of every metric family in the exposition.</summary>
    public static IReadOnlyDictionary<string, string> Types(string text)
    {
        var types = new Dictionary<string, string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                types[parts[2]] = parts[3].Trim();
            }
        }

        return types;
    }

    /// <summary>The exposition's lines, trimmed: for <c># HELP</c> and <c># TYPE</c> lines compared as written. Read samples with <see cref="Parse"/>.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The samples named <paramref name="name"/> (histogram parts are <c>_bucket</c>, <c>_sum</c>, <c>_count</c>), in exposition order.</summary>
    public static IEnumerable<Sample> Named(this IEnumerable<Sample> samples, string name) => samples.Where(s => s.Name == name);

    /// <summary>
    /// The sum of the samples named <paramref name="name"/> that carry at least these labels, as a PromQL selector
    /// summed: 0 when none matches.
    /// </summary>
    public static double Value(this IEnumerable<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>
    /// The value of the one series <paramref name="name"/> with exactly these labels (in any order); fails, listing what
    /// the exposition has under that name, when there is no such sample or more than one.
    /// </summary>
    public static double Single(this IEnumerable<Sample> samples, string name, params (string Key, string Value)[] labels)
    {
        var named = samples.Named(name).ToList();
        var matches = named.Where(s => IsSeries(s, labels)).ToList();
        Assert.True(
            matches.Count == 1,
            $"Expected exactly one sample {Describe(name, labels)}, found {matches.Count}. Samples named {name}:\n  "
            + (named.Count == 0 ? "(none)" : string.Join("\n  ", named)));
        return matches[0].Value;
    }

    /// <summary>
    /// How much the one series <paramref name="name"/> with exactly these labels grew since <paramref name="before"/>: it
    /// must be in this scrape; in the earlier one it may be absent, as a labelled series is until its first observation,
    /// and then it grew from 0.
    /// </summary>
    public static double IncreaseSince(this IEnumerable<Sample> after, IEnumerable<Sample> before, string name, params (string Key, string Value)[] labels) =>
        after.Single(name, labels) - (before.Has(name, labels) ? before.Single(name, labels) : 0);

    /// <summary>Whether the series <paramref name="name"/> with exactly these labels is in the exposition.</summary>
    public static bool Has(this IEnumerable<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Any(s => s.Name == name && IsSeries(s, labels));

    private static bool IsSeries(Sample sample, (string Key, string Value)[] labels) =>
        sample.Labels.Count == labels.Length && labels.All(l => sample.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    /// <summary>A series as the text format writes it, label values escaped, so messages show what a scrape shows.</summary>
    internal static string Describe(string name, (string Key, string Value)[] labels) =>
        labels.Length == 0 ? name : name + "{" + string.Join(",", labels.Select(l => $"{l.Key}=\"{Escape(l.Value)}\"")) + "}";

    private static string Escape(string value) => value
        .Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Label pairs as the text format writes them: <c>k="v"</c>, comma-separated, values escaping <c>\\</c>, <c>\"</c> and <c>\n</c>.</summary>
    private static Dictionary<string, string> ParseLabels(string text, string line)
    {
        var labels = new Dictionary<string, string>();
        var i = 0;
        while (i < text.Length)
        {
            var key = LabelName().Match(text, i);
            Assert.True(key.Success && key.Index == i && i + key.Length + 1 < text.Length && text[i + key.Length] == '=' && text[i + key.Length + 1] == '"', $"Not a valid label at {i} in: {line}");
            i += key.Length + 2;
            var value = new StringBuilder();
            while (true)
            {
                Assert.True(i < text.Length, $"Unterminated label value in: {line}");
                var c = text[i++];
                if (c == '"')
                {
                    break;
                }

                if (c == '\\')
                {
                    Assert.True(i < text.Length, $"Unterminated escape in: {line}");
                    value.Append(text[i++] switch
                    {
                        '\\' => '\\',
                        '"' => '"',
                        'n' => '\n',
                        var other => throw new Xunit.Sdk.XunitException($"Unknown escape \\{other} in: {line}"),
                    });
                }
                else
                {
                    value.Append(c);
                }
            }

            Assert.True(labels.TryAdd(key.Value, value.ToString()), $"Label {key.Value} given twice in: {line}");
            if (i < text.Length)
            {
                Assert.True(text[i] == ',', $"Expected ',' after label {key.Value} in: {line}");
                i++;
            }
        }

        return labels;
    }

    private static double ParseValue(string text, string line) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw new Xunit.Sdk.XunitException($"Not a valid sample value '{text}' in: {line}"),
    };

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+-?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"[a-zA-Z_][a-zA-Z0-9_]*")]
    private static partial Regex LabelName();
}
