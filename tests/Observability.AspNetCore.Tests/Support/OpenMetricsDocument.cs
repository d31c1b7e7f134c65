using System.Text.RegularExpressions;

namespace Observability.AspNetCore.Tests.Support;

/// <summary>
/// Checks a body against the OpenMetrics 1.0 text format rules a scraper relies on: one <c># EOF</c>, the last line;
/// each family declared once and its samples together under it; sample names the family's type allows (a counter's
/// <c>_total</c>, a histogram's <c>_bucket</c>/<c>_sum</c>/<c>_count</c>); exemplars only on those that may carry them;
/// HELP text escaped as the ABNF requires.
/// </summary>
internal static partial class OpenMetricsDocument
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"];

    /// <summary>Every rule the body breaks, one line each; empty for a valid document.</summary>
    public static IReadOnlyList<string> Problems(string body)
    {
        var problems = new List<string>();
        if (!body.EndsWith("\n# EOF\n", StringComparison.Ordinal))
        {
            problems.Add("the body does not end with the line '# EOF'");
        }

        var lines = body.TrimEnd('\n').Split('\n');
        var declared = new Dictionary<string, string>(StringComparer.Ordinal);
        string? family = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line == "# EOF")
            {
                if (i != lines.Length - 1)
                {
                    problems.Add($"line {i + 1}: '# EOF' before the end of the document");
                }

                continue;
            }

            if (Descriptor().Match(line) is { Success: true } d)
            {
                var name = d.Groups["name"].Value;
                if (name != family)
                {
                    if (declared.ContainsKey(name))
                    {
                        problems.Add($"line {i + 1}: family {name} appears a second time");
                    }

                    family = name;
                    declared[name] = "unknown";
                }

                var text = d.Groups["text"].Value;
                if (d.Groups["kind"].Value == "TYPE")
                {
                    declared[name] = Types.Contains(text) ? text : "unknown";
                    if (!Types.Contains(text))
                    {
                        problems.Add($"line {i + 1}: unknown type '{text}'");
                    }
                }
                else if (d.Groups["kind"].Value == "HELP" && !EscapedString().IsMatch(text))
                {
                    problems.Add($"line {i + 1}: HELP text is not an escaped string: {text}");
                }

                continue;
            }

            if (SampleLine().Match(line) is not { Success: true } s)
            {
                problems.Add($"line {i + 1}: neither metadata nor a sample: {line}");
                continue;
            }

            var sample = s.Groups["name"].Value;
            var type = family is null ? null : declared[family];
            var suffix = family is not null && sample.StartsWith(family, StringComparison.Ordinal) ? sample[family.Length..] : null;
            var allowed = type switch
            {
                "counter" => suffix is "_total" or "_created",
                "histogram" or "gaugehistogram" => suffix is "_bucket" or "_sum" or "_count" or "_created" or "_gcount" or "_gsum",
                "summary" => suffix is "" or "_sum" or "_count" or "_created",
                "info" => suffix is "_info",
                "gauge" or "stateset" or "unknown" => suffix is "",
                _ => false,
            };
            if (!allowed)
            {
                problems.Add($"line {i + 1}: sample {sample} does not belong to the family above it ({family ?? "none"}, {type ?? "no type"})");
            }

            if (s.Groups["exemplar"].Success && !(type == "counter" && suffix == "_total") && !(type == "histogram" && suffix == "_bucket"))
            {
                problems.Add($"line {i + 1}: exemplar on {sample}, which may not carry one");
            }
        }

        return problems;
    }

    /// <summary>The exemplar of each sample line that has one: the sample line and the exemplar's labels.</summary>
    public static IEnumerable<(string Line, IReadOnlyDictionary<string, string> Labels)> Exemplars(string body)
    {
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith('#') || SampleLine().Match(line) is not { Success: true } s || !s.Groups["exemplar"].Success)
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match pair in LabelPair().Matches(s.Groups["exemplar"].Value))
            {
                labels[pair.Groups["k"].Value] = pair.Groups["v"].Value;
            }

            yield return (line, labels);
        }
    }

    [GeneratedRegex(@"^# (?<kind>HELP|TYPE|UNIT) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<text>.*)$")]
    private static partial Regex Descriptor();

    // normal-char excludes LF, '"' and '\'; those appear only as \n, \" and \\.
    [GeneratedRegex(@"^(?:[^\n""\\]|\\[\\n""])*$")]
    private static partial Regex EscapedString();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>(?:[^""}]|""(?:[^""\\]|\\.)*"")*)\})? (?<value>\S+)( -?[0-9.e+]+)?( # \{(?<exemplar>[^}]*)\} \S+( \S+)?)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<v>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
