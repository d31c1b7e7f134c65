using System.Buffers;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>The lexical differences between SQL dialects that matter for finding literals and comments.</summary>
internal enum SqlDialect
{
    /// <summary>PostgreSQL and the SQL standard: <c>E'…'</c> escape strings, nested block comments, <c>"…"</c> identifiers.</summary>
    Standard = 0,

    /// <summary><c>[…]</c> identifiers, nested block comments.</summary>
    SqlServer,

    /// <summary><c>`…`</c> identifiers, <c>"…"</c> strings, backslash escapes in strings, <c>#</c> comments, no nesting.</summary>
    MySql,

    /// <summary><c>[…]</c> and <c>`…`</c> identifiers, no nesting.</summary>
    Sqlite,
}

/// <summary>
/// A small SQL tokenizer, just enough to tell literals (strings in their dialect forms, dollar-quoted bodies, numbers)
/// from everything else: identifiers (<c>t1</c>, <c>"it's"</c>), parameter placeholders (<c>$1</c>, <c>@p0</c>,
/// <c>:name</c>, <c>?</c>) and comments, whose quotes must not open a literal. Two uses: a literal-insensitive hash per
/// command, computed with no allocation, so that repeated commands are grouped whatever values were inlined; and, only
/// for a warning that is written, the command text with its literals replaced by <c>?</c> and cut to a length.
/// </summary>
internal static class SqlText
{
    public const char Ellipsis = '…';

    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    private enum Token
    {
        Space,
        Comment,
        Literal,
        Verbatim,
    }

    /// <summary>
    /// A 64-bit hash of the command's shape: every literal counts as <c>?</c>, comments and runs of white space as one
    /// space, so <c>WHERE id = 1</c> and <c>WHERE id  =  2 -- retry</c> hash alike. No allocation.
    /// </summary>
    public static ulong ShapeHash(string text, SqlDialect dialect)
    {
        var s = text.AsSpan();
        var hash = FnvOffset;
        var pendingSpace = false;
        var i = 0;
        while (i < s.Length)
        {
            var token = Next(s, i, dialect, out var end);
            switch (token)
            {
                case Token.Space:
                case Token.Comment:
                    pendingSpace = hash != FnvOffset;
                    break;
                case Token.Literal:
                    hash = MixSpace(hash, ref pendingSpace);
                    hash = (hash ^ '?') * FnvPrime;
                    break;
                default:
                    hash = MixSpace(hash, ref pendingSpace);
                    for (var j = i; j < end; j++)
                    {
                        hash = (hash ^ s[j]) * FnvPrime;
                    }

                    break;
            }

            i = end;
        }

        return hash;
    }

    /// <summary>
    /// The command text as a warning shows it: literals replaced by <c>?</c> when <paramref name="redactLiterals"/>, and
    /// at most <paramref name="maxLength"/> characters, the last one <c>…</c> when the text was cut. Comments are kept as
    /// written, as PostgreSQL's pg_stat_statements keeps them: they come from the code (EF Core's <c>TagWith</c>), not
    /// from data, and they say where a query comes from.
    /// </summary>
    public static string Format(string text, bool redactLiterals, int maxLength, SqlDialect dialect)
    {
        maxLength = Math.Max(1, maxLength);
        if (!redactLiterals)
        {
            return text.Length <= maxLength ? text : Truncate(text.AsSpan(), maxLength);
        }

        // Redaction never lengthens the text, and writing stops one character past the limit (enough to know it was cut).
        var capacity = Math.Min(text.Length, maxLength + 1);
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(capacity, 1));
        try
        {
            var written = Redact(text.AsSpan(), dialect, buffer.AsSpan(0, capacity));
            var output = buffer.AsSpan(0, written);
            return written <= maxLength ? new string(output) : Truncate(output, maxLength);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static int Redact(ReadOnlySpan<char> s, SqlDialect dialect, Span<char> output)
    {
        var written = 0;
        var i = 0;
        while (i < s.Length && written < output.Length)
        {
            var token = Next(s, i, dialect, out var end);
            switch (token)
            {
                case Token.Literal:
                    output[written++] = '?';
                    break;
                default:
                    var length = Math.Min(end - i, output.Length - written);
                    s.Slice(i, length).CopyTo(output[written..]);
                    written += length;
                    break;
            }

            i = end;
        }

        return written;
    }

    private static string Truncate(ReadOnlySpan<char> text, int maxLength)
    {
        var keep = maxLength - 1;
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--; // never leave half a surrogate pair before the ellipsis
        }

        return string.Concat(text[..keep], [Ellipsis]);
    }

    private static ulong MixSpace(ulong hash, ref bool pendingSpace)
    {
        if (pendingSpace)
        {
            pendingSpace = false;
            return (hash ^ ' ') * FnvPrime;
        }

        return hash;
    }

    /// <summary>The token that starts at <paramref name="i"/>; <paramref name="end"/> is where it ends (exclusive).</summary>
    private static Token Next(ReadOnlySpan<char> s, int i, SqlDialect dialect, out int end)
    {
        var c = s[i];
        var next = i + 1 < s.Length ? s[i + 1] : '\0';
        if (char.IsWhiteSpace(c))
        {
            end = i + 1;
            while (end < s.Length && char.IsWhiteSpace(s[end]))
            {
                end++;
            }

            return Token.Space;
        }

        switch (c)
        {
            case '-' when next == '-':
            case '#' when dialect == SqlDialect.MySql:
                var newline = s[i..].IndexOfAny('\n', '\r');
                end = newline < 0 ? s.Length : i + newline;
                return Token.Comment;
            case '/' when next == '*':
                end = EndOfBlockComment(s, i + 2, nested: dialect is SqlDialect.Standard or SqlDialect.SqlServer);
                return Token.Comment;
            case '\'':
                end = EndOfQuoted(s, i + 1, '\'', backslashEscapes: dialect == SqlDialect.MySql);
                return Token.Literal;
            case '"':
                // A string in MySQL; everywhere else an identifier, kept as written (it may contain a quote).
                end = EndOfQuoted(s, i + 1, '"', backslashEscapes: dialect == SqlDialect.MySql);
                return dialect == SqlDialect.MySql ? Token.Literal : Token.Verbatim;
            case '`' when dialect is SqlDialect.MySql or SqlDialect.Sqlite:
                end = EndOfQuoted(s, i + 1, '`', backslashEscapes: false);
                return Token.Verbatim;
            case '[' when dialect is SqlDialect.SqlServer or SqlDialect.Sqlite:
                end = EndOfQuoted(s, i + 1, ']', backslashEscapes: false);
                return Token.Verbatim;
            case '$':
                return Dollar(s, i, out end);
            case '@':
            case ':':
            case '?':
                // Placeholders and variables (@p0, @@ROWCOUNT, :name, :1, ?1) are kept, digits included; "::" is a cast.
                end = c == '@' && next == '@' ? i + 2 : i + 1;
                while (end < s.Length && IsIdentifierPart(s[end]))
                {
                    end++;
                }

                return Token.Verbatim;
        }

        if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(next)))
        {
            end = EndOfNumber(s, i);
            return Token.Literal;
        }

        if (IsIdentifierStart(c))
        {
            if (next == '\'')
            {
                switch (c)
                {
                    case 'E' or 'e':
                        end = EndOfQuoted(s, i + 2, '\'', backslashEscapes: true);
                        return Token.Literal;
                    case 'N' or 'n' or 'X' or 'x' or 'B' or 'b':
                        end = EndOfQuoted(s, i + 2, '\'', backslashEscapes: dialect == SqlDialect.MySql);
                        return Token.Literal;
                }
            }
            else if (c is 'U' or 'u' && next == '&' && i + 2 < s.Length && s[i + 2] == '\'')
            {
                end = EndOfQuoted(s, i + 3, '\'', backslashEscapes: false);
                return Token.Literal;
            }

            end = i + 1;
            while (end < s.Length && IsIdentifierPart(s[end]))
            {
                end++;
            }

            return Token.Verbatim;
        }

        end = i + 1;
        return Token.Verbatim;
    }

    /// <summary><c>$1</c> (placeholder), <c>$$…$$</c> or <c>$tag$…$tag$</c> (literal), <c>$name</c> (SQLite parameter).</summary>
    private static Token Dollar(ReadOnlySpan<char> s, int i, out int end)
    {
        var j = i + 1;
        if (j < s.Length && char.IsAsciiDigit(s[j]))
        {
            end = j + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end]))
            {
                end++;
            }

            return Token.Verbatim;
        }

        if (j < s.Length && IsIdentifierStart(s[j]))
        {
            while (j < s.Length && s[j] != '$' && IsIdentifierPart(s[j]))
            {
                j++;
            }
        }

        if (j < s.Length && s[j] == '$')
        {
            var tag = s[i..(j + 1)];
            var close = s[(j + 1)..].IndexOf(tag);
            end = close < 0 ? s.Length : j + 1 + close + tag.Length;
            return Token.Literal;
        }

        end = Math.Max(j, i + 1);
        return Token.Verbatim;
    }

    private static int EndOfQuoted(ReadOnlySpan<char> s, int start, char quote, bool backslashEscapes)
    {
        var j = start;
        while (j < s.Length)
        {
            var c = s[j];
            if (backslashEscapes && c == '\\')
            {
                j += 2;
                continue;
            }

            if (c == quote)
            {
                if (j + 1 < s.Length && s[j + 1] == quote)
                {
                    j += 2; // a doubled quote is one quote character inside the literal
                    continue;
                }

                return j + 1;
            }

            j++;
        }

        return s.Length; // unclosed: everything to the end belongs to it
    }

    private static int EndOfBlockComment(ReadOnlySpan<char> s, int start, bool nested)
    {
        var depth = 1;
        var j = start;
        while (j + 1 < s.Length)
        {
            if (s[j] == '*' && s[j + 1] == '/')
            {
                j += 2;
                if (--depth == 0)
                {
                    return j;
                }
            }
            else if (nested && s[j] == '/' && s[j + 1] == '*')
            {
                depth++;
                j += 2;
            }
            else
            {
                j++;
            }
        }

        return s.Length;
    }

    private static int EndOfNumber(ReadOnlySpan<char> s, int i)
    {
        var j = i;
        if (s[j] == '0' && j + 1 < s.Length && (s[j + 1] | 0x20) is 'x' or 'b' or 'o')
        {
            j += 2;
            while (j < s.Length && (char.IsAsciiHexDigit(s[j]) || s[j] == '_'))
            {
                j++;
            }

            return j;
        }

        j = SkipDigits(s, j);
        if (j < s.Length && s[j] == '.')
        {
            j = SkipDigits(s, j + 1);
        }

        if (j < s.Length && (s[j] | 0x20) == 'e')
        {
            var k = j + 1;
            if (k < s.Length && s[k] is '+' or '-')
            {
                k++;
            }

            if (k < s.Length && char.IsAsciiDigit(s[k]))
            {
                j = SkipDigits(s, k);
            }
        }

        return j;
    }

    private static int SkipDigits(ReadOnlySpan<char> s, int j)
    {
        while (j < s.Length && (char.IsAsciiDigit(s[j]) || s[j] == '_'))
        {
            j++;
        }

        return j;
    }

    private static bool IsIdentifierStart(char c) => char.IsLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '$';
}
