using System.Collections.Frozen;
using System.Text;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>A metric name used in a PromQL expression, with the text of its label matchers (<c>""</c> when it has none).</summary>
internal sealed record MetricSelector(string Name, string Matchers);

/// <summary>
/// Finds the metric names a PromQL expression selects, so the tests can check each against a live scrape.
/// </summary>
/// <remarks>
/// A tokenizer rather than a parser: string literals, label matchers <c>{…}</c>, range and subquery selectors <c>[…]</c>,
/// numbers and durations are tokens of their own; the label lists of <c>by</c>, <c>without</c>, <c>on</c>,
/// <c>ignoring</c>, <c>group_left</c> and <c>group_right</c> are skipped; functions (an identifier followed by
/// <c>(</c>) and keywords are dropped. Every identifier left is a metric name. An unknown function throws, so a typo
/// cannot hide a name. Whether the expression is valid PromQL is for the real Prometheus to say.
/// </remarks>
internal static class PromQlNames
{
    private static readonly FrozenSet<string> Functions = new[]
    {
        "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil",
        "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week",
        "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
        "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
        "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute",
        "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round",
        "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
        "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> Aggregations = new[]
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> GroupingKeywords = new[]
    {
        "by", "without", "on", "ignoring", "group_left", "group_right",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> OtherKeywords = new[]
    {
        "and", "or", "unless", "atan2", "bool", "offset", "start", "end", "inf", "nan",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The distinct metric names of <paramref name="expr"/>.</summary>
    public static IReadOnlySet<string> Names(string expr) =>
        Selectors(expr).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every vector selector of <paramref name="expr"/>, in order.</summary>
    public static IReadOnlyList<MetricSelector> Selectors(string expr)
    {
        var tokens = Tokenize(expr);
        var selectors = new List<MetricSelector>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind == TokenKind.Braces && (i == 0 || tokens[i - 1].Kind != TokenKind.Identifier))
            {
                throw new NotSupportedException($"A selector without a metric name ({token.Text}) in: {expr}");
            }

            if (token.Kind != TokenKind.Identifier)
            {
                continue;
            }

            var next = i + 1 < tokens.Count ? tokens[i + 1] : null;
            if (GroupingKeywords.Contains(token.Text))
            {
                if (next is { Kind: TokenKind.Punctuation, Text: "(" })
                {
                    // A label list: skip it up to its ')'.
                    i++;
                    while (i < tokens.Count && tokens[i].Text != ")")
                    {
                        i++;
                    }
                }

                continue;
            }

            if (Aggregations.Contains(token.Text) || OtherKeywords.Contains(token.Text))
            {
                continue;
            }

            if (next is { Kind: TokenKind.Punctuation, Text: "(" })
            {
                if (!Functions.Contains(token.Text))
                {
                    throw new NotSupportedException($"Unknown PromQL function '{token.Text}' in: {expr}");
                }

                continue;
            }

            selectors.Add(new MetricSelector(token.Text, next is { Kind: TokenKind.Braces } ? next.Text : ""));
        }

        return selectors;
    }

    /// <summary>
    /// The metric family a sample name belongs to: the name itself when the scrape has a <c># TYPE</c> for it, else
    /// without a <c>_bucket</c>, <c>_sum</c> or <c>_count</c> suffix when that is a family of the scrape; null otherwise.
    /// </summary>
    public static string? FamilyOf(string name, IReadOnlyDictionary<string, string> typesByFamily)
    {
        if (typesByFamily.ContainsKey(name))
        {
            return name;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal)
                && typesByFamily.TryGetValue(name[..^suffix.Length], out var type)
                && type is "histogram" or "summary"
                && (suffix != "_bucket" || type == "histogram"))
            {
                return name[..^suffix.Length];
            }
        }

        return null;
    }

    /// <summary>Names Prometheus itself writes for every target (not served by the app).</summary>
    public static bool IsGeneratedByPrometheus(string name) =>
        name == "up" || name.StartsWith("scrape_", StringComparison.Ordinal);

    private enum TokenKind
    {
        Identifier,
        String,
        Braces,
        Brackets,
        Number,
        Punctuation,
    }

    private sealed record Token(TokenKind Kind, string Text);

    private static List<Token> Tokenize(string expr)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < expr.Length)
        {
            var c = expr[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                // A comment runs to the end of the line.
                while (i < expr.Length && expr[i] != '\n')
                {
                    i++;
                }
            }
            else if (c is '"' or '\'' or '`')
            {
                var start = i;
                SkipString(expr, ref i);
                tokens.Add(new Token(TokenKind.String, expr[start..i]));
            }
            else if (c is '{' or '[')
            {
                var start = i;
                var close = c == '{' ? '}' : ']';
                i++;
                while (i < expr.Length && expr[i] != close)
                {
                    if (expr[i] is '"' or '\'' or '`')
                    {
                        SkipString(expr, ref i);
                    }
                    else
                    {
                        i++;
                    }
                }

                if (i >= expr.Length)
                {
                    throw new FormatException($"Unterminated '{c}' in: {expr}");
                }

                i++;
                tokens.Add(new Token(c == '{' ? TokenKind.Braces : TokenKind.Brackets, expr[start..i]));
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expr.Length && char.IsAsciiDigit(expr[i + 1])))
            {
                // Numbers, hex, exponents and durations (5m, 1h30m): digits followed by letters and digits.
                var start = i;
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] == '.'
                       || (expr[i] is '+' or '-' && expr[i - 1] is 'e' or 'E' && !expr[start..i].StartsWith("0x", StringComparison.OrdinalIgnoreCase))))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, expr[start..i]));
            }
            else if (char.IsAsciiLetter(c) || c is '_' or ':')
            {
                var start = i;
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] is '_' or ':'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, expr[start..i]));
            }
            else
            {
                tokens.Add(new Token(TokenKind.Punctuation, c.ToString()));
                i++;
            }
        }

        return tokens;
    }

    private static void SkipString(string expr, ref int i)
    {
        var quote = expr[i++];
        while (i < expr.Length && expr[i] != quote)
        {
            i += expr[i] == '\\' && quote != '`' ? 2 : 1;
        }

        if (i >= expr.Length)
        {
            throw new FormatException($"Unterminated string in: {expr}");
        }

        i++;
    }

    /// <summary>For failure messages: the names with their families, one per line.</summary>
    public static string Describe(IEnumerable<(string Where, string Name)> uses)
    {
        var builder = new StringBuilder();
        foreach (var (where, name) in uses)
        {
            builder.Append("  ").Append(name).Append(" (").Append(where).AppendLine(")");
        }

        return builder.ToString();
    }
}
