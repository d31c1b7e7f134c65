using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Observability.AspNetCore.IntegrationTests.Deploy;

/// <summary>
/// Reads the YAML subset the files under <c>deploy/</c> are written in into <see cref="JsonNode"/>s (every scalar a
/// string), so tests can check their structure without a YAML package.
/// </summary>
/// <remarks>
/// Supported: block mappings and sequences (a sequence may sit at its key's indentation), <c>- key: value</c> items,
/// one-line flow sequences and mappings (<c>[a, "b"]</c>, <c>{ a: b }</c>), plain, single- and double-quoted scalars,
/// literal and folded block scalars (<c>|</c>, <c>|-</c>, <c>&gt;</c>), comments. Anything else (anchors, aliases, tags,
/// several documents, tabs for indentation, multi-line flow collections) throws <see cref="FormatException"/>: a file that
/// outgrows the subset fails the tests loudly instead of being half read. The tools that consume each file (promtool,
/// amtool, Prometheus) remain the authority on its validity; this reader is only how the tests look inside.
/// </remarks>
internal sealed class MiniYaml
{
    private readonly string[] _lines;
    private readonly string _source;
    private int _index;

    // A "- key: value" item's first key is re-read as if it stood on its own line at this column.
    private (int Line, int Indent, string Content)? _pushedBack;

    private MiniYaml(string text, string source)
    {
        _lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        _source = source;
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in error messages.</summary>
    public static JsonNode? Parse(string text, string source = "<yaml>")
    {
        var reader = new MiniYaml(text, source);
        if (!reader.TryPeek(out _, out var indent, out _))
        {
            return null;
        }

        var node = reader.ParseBlock(indent);
        if (reader.TryPeek(out var line, out _, out var content))
        {
            throw reader.Error(line, $"unexpected content after the document: '{content}'");
        }

        return node;
    }

    /// <summary>Reads and parses a file.</summary>
    public static JsonNode? ParseFile(string path) => Parse(File.ReadAllText(path), path);

    private JsonNode? ParseBlock(int indent)
    {
        TryPeek(out _, out _, out var content);
        return IsSequenceItem(content) ? ParseSequence(indent) : ParseMapping(indent);
    }

    private JsonArray ParseSequence(int indent)
    {
        var array = new JsonArray();
        while (TryPeek(out var line, out var lineIndent, out var content) && lineIndent == indent && IsSequenceItem(content))
        {
            Advance();
            var item = content.Length == 1 ? "" : content[2..].TrimStart();
            if (item.Length == 0)
            {
                array.Add(TryPeek(out _, out var childIndent, out _) && childIndent > indent ? ParseBlock(childIndent) : null);
            }
            else if (IsSequenceItem(item) || SplitKey(item, line) is not null)
            {
                // "- key: value" (or "- - x"): a collection whose first entry starts at the item's column.
                var column = indent + (content.Length - item.Length);
                _pushedBack = (line, column, item);
                array.Add(ParseBlock(column));
            }
            else
            {
                array.Add(ParseInline(item, line));
            }
        }

        if (TryPeek(out var next, out var nextIndent, out _) && nextIndent > indent)
        {
            throw Error(next, "unexpected indentation inside a sequence");
        }

        return array;
    }

    private JsonObject ParseMapping(int indent)
    {
        var map = new JsonObject();
        while (TryPeek(out var line, out var lineIndent, out var content) && lineIndent == indent && !IsSequenceItem(content))
        {
            Advance();
            var (key, rest) = SplitKey(content, line) ?? throw Error(line, $"expected 'key: value', found '{content}'");
            if (map.ContainsKey(key))
            {
                throw Error(line, $"duplicate key '{key}'");
            }

            JsonNode? value;
            if (rest.Length == 0)
            {
                value = TryPeek(out _, out var childIndent, out var childContent) switch
                {
                    true when childIndent > indent => ParseBlock(childIndent),
                    true when childIndent == indent && IsSequenceItem(childContent) => ParseSequence(indent),
                    _ => null,
                };
            }
            else if (rest[0] is '|' or '>')
            {
                value = ParseBlockScalar(rest, indent, line);
            }
            else
            {
                value = ParseInline(rest, line);
            }

            map[key] = value;
        }

        if (TryPeek(out var next, out var nextIndent, out _) && nextIndent > indent)
        {
            throw Error(next, "unexpected indentation inside a mapping");
        }

        return map;
    }

    private JsonValue ParseBlockScalar(string header, int parentIndent, int line)
    {
        var folded = header[0] == '>';
        var chomp = header.Length > 1 ? header[1..] : "";
        if (chomp is not ("" or "-" or "+"))
        {
            throw Error(line, $"unsupported block scalar header '{header}'");
        }

        var body = new List<string>();
        var contentIndent = -1;
        while (_index < _lines.Length)
        {
            var raw = _lines[_index];
            if (raw.Trim().Length == 0)
            {
                body.Add("");
                _index++;
                continue;
            }

            var indent = raw.Length - raw.TrimStart(' ').Length;
            if (indent <= parentIndent)
            {
                break;
            }

            if (contentIndent < 0)
            {
                contentIndent = indent;
            }
            else if (indent < contentIndent)
            {
                throw Error(_index + 1, "block scalar line less indented than its first line");
            }

            body.Add(raw[contentIndent..]);
            _index++;
        }

        // Trailing blank lines belong to the chomping, not to the text.
        var trailing = 0;
        while (body.Count > 0 && body[^1].Length == 0)
        {
            body.RemoveAt(body.Count - 1);
            trailing++;
        }

        var text = folded ? string.Join(' ', body) : string.Join('\n', body);
        text = chomp switch
        {
            "-" => text,
            "+" => text + new string('\n', trailing + 1),
            _ => body.Count == 0 ? "" : text + "\n",
        };
        return JsonValue.Create(text);
    }

    private JsonNode? ParseInline(string text, int line)
    {
        var position = 0;
        var node = ParseFlowValue(text, ref position, line, inFlow: false);
        SkipSpaces(text, ref position);
        if (position != text.Length)
        {
            throw Error(line, $"unexpected '{text[position..]}' after a value");
        }

        return node;
    }

    private JsonNode? ParseFlowValue(string text, ref int position, int line, bool inFlow)
    {
        SkipSpaces(text, ref position);
        if (position >= text.Length)
        {
            throw Error(line, "missing value");
        }

        switch (text[position])
        {
            case '[':
                {
                    position++;
                    var array = new JsonArray();
                    SkipSpaces(text, ref position);
                    if (position < text.Length && text[position] == ']')
                    {
                        position++;
                        return array;
                    }

                    while (true)
                    {
                        array.Add(ParseFlowValue(text, ref position, line, inFlow: true));
                        SkipSpaces(text, ref position);
                        if (position < text.Length && text[position] == ',')
                        {
                            position++;
                            continue;
                        }

                        if (position < text.Length && text[position] == ']')
                        {
                            position++;
                            return array;
                        }

                        throw Error(line, "unterminated flow sequence (multi-line flow collections are not supported)");
                    }
                }

            case '{':
                {
                    position++;
                    var map = new JsonObject();
                    SkipSpaces(text, ref position);
                    if (position < text.Length && text[position] == '}')
                    {
                        position++;
                        return map;
                    }

                    while (true)
                    {
                        var key = ParseFlowValue(text, ref position, line, inFlow: true)?.GetValue<string>()
                            ?? throw Error(line, "empty key in a flow mapping");
                        SkipSpaces(text, ref position);
                        if (position >= text.Length || text[position] != ':')
                        {
                            throw Error(line, $"expected ':' after '{key}' in a flow mapping");
                        }

                        position++;
                        map[key] = ParseFlowValue(text, ref position, line, inFlow: true);
                        SkipSpaces(text, ref position);
                        if (position < text.Length && text[position] == ',')
                        {
                            position++;
                            continue;
                        }

                        if (position < text.Length && text[position] == '}')
                        {
                            position++;
                            return map;
                        }

                        throw Error(line, "unterminated flow mapping (multi-line flow collections are not supported)");
                    }
                }

            case '"':
                return JsonValue.Create(ReadDoubleQuoted(text, ref position, line));

            case '\'':
                return JsonValue.Create(ReadSingleQuoted(text, ref position, line));

            case '&' or '*' or '!' or '%' or '@' or '`':
                throw Error(line, $"unsupported YAML construct starting with '{text[position]}'");

            default:
                {
                    // A plain scalar: up to the end, or in a flow collection up to ',', ']', '}' or ': '.
                    var start = position;
                    while (position < text.Length)
                    {
                        var c = text[position];
                        if (inFlow && (c is ',' or ']' or '}' || (c == ':' && (position + 1 == text.Length || text[position + 1] is ' ' or ',' or '}' or ']'))))
                        {
                            break;
                        }

                        position++;
                    }

                    var plain = text[start..position].Trim();
                    return plain is "~" or "null" ? null : JsonValue.Create(plain);
                }
        }
    }

    private string ReadDoubleQuoted(string text, ref int position, int line)
    {
        var builder = new StringBuilder();
        position++;
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
            {
                return builder.ToString();
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (position >= text.Length)
            {
                break;
            }

            var escaped = text[position++];
            builder.Append(escaped switch
            {
                'n' => "\n",
                't' => "\t",
                'r' => "\r",
                '0' => "\0",
                '"' or '\\' or '/' or ' ' => escaped.ToString(),
                'u' when position + 4 <= text.Length => ((char)int.Parse(text.AsSpan(position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToString(),
                _ => throw Error(line, $"unsupported escape '\\{escaped}'"),
            });
            if (escaped == 'u')
            {
                position += 4;
            }
        }

        throw Error(line, "unterminated double-quoted string (multi-line strings are not supported)");
    }

    private string ReadSingleQuoted(string text, ref int position, int line)
    {
        var builder = new StringBuilder();
        position++;
        while (position < text.Length)
        {
            var c = text[position++];
            if (c != '\'')
            {
                builder.Append(c);
            }
            else if (position < text.Length && text[position] == '\'')
            {
                builder.Append('\'');
                position++;
            }
            else
            {
                return builder.ToString();
            }
        }

        throw Error(line, "unterminated single-quoted string (multi-line strings are not supported)");
    }

    /// <summary>Splits "key: rest" at the first ': ' (or a trailing ':') outside quotes; null when the text is no mapping entry.</summary>
    private (string Key, string Value)? SplitKey(string content, int line)
    {
        string key;
        int afterKey;
        if (content[0] is '"' or '\'')
        {
            var position = 0;
            key = content[0] == '"' ? ReadDoubleQuoted(content, ref position, line) : ReadSingleQuoted(content, ref position, line);
            SkipSpaces(content, ref position);
            if (position >= content.Length || content[position] != ':')
            {
                return null;
            }

            afterKey = position + 1;
        }
        else
        {
            if (content[0] is '[' or '{')
            {
                return null;
            }

            var colon = -1;
            for (var i = 0; i < content.Length; i++)
            {
                if (content[i] == ':' && (i + 1 == content.Length || content[i + 1] == ' '))
                {
                    colon = i;
                    break;
                }
            }

            if (colon <= 0)
            {
                return null;
            }

            key = content[..colon].TrimEnd();
            afterKey = colon + 1;
        }

        if (afterKey < content.Length && content[afterKey] != ' ')
        {
            return null;
        }

        return (key, content[afterKey..].Trim());
    }

    private static bool IsSequenceItem(string content) => content == "-" || content.StartsWith("- ", StringComparison.Ordinal);

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && text[position] == ' ')
        {
            position++;
        }
    }

    /// <summary>The next structural line (1-based number, indentation, content without comment), skipping blank and comment lines.</summary>
    private bool TryPeek(out int line, out int indent, out string content)
    {
        if (_pushedBack is { } pushed)
        {
            (line, indent, content) = pushed;
            return true;
        }

        while (_index < _lines.Length)
        {
            var raw = _lines[_index];
            if (raw.Contains('\t', StringComparison.Ordinal) && raw.TrimStart(' ').StartsWith('\t'))
            {
                throw Error(_index + 1, "tab in indentation");
            }

            var stripped = StripComment(raw).TrimEnd();
            if (stripped.Trim().Length == 0)
            {
                _index++;
                continue;
            }

            if (stripped is "---" or "...")
            {
                if (_index == 0 && stripped == "---")
                {
                    _index++;
                    continue;
                }

                throw Error(_index + 1, "several YAML documents in one file are not supported");
            }

            line = _index + 1;
            indent = stripped.Length - stripped.TrimStart(' ').Length;
            content = stripped.TrimStart(' ');
            return true;
        }

        line = 0;
        indent = 0;
        content = "";
        return false;
    }

    private void Advance()
    {
        if (_pushedBack is not null)
        {
            _pushedBack = null;
        }
        else
        {
            _index++;
        }
    }

    /// <summary>Cuts a comment: '#' at the start or after white space, outside quotes.</summary>
    private static string StripComment(string raw)
    {
        var quote = '\0';
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (quote != '\0')
            {
                if (c == '\\' && quote == '"')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'' && (i == 0 || raw[i - 1] is ' ' or '[' or '{' or ',' or ':' or '-'))
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || raw[i - 1] == ' '))
            {
                return raw[..i];
            }
        }

        return raw;
    }

    private FormatException Error(int line, string message) => new($"{_source}:{line.ToString(CultureInfo.InvariantCulture)}: {message}");
}
