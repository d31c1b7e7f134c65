using Observability.AspNetCore.SlowQueries;

namespace Observability.AspNetCore.Tests.SlowQueries;

public sealed class SqlTextTests
{
    private static string Redact(string sql, SqlDialect dialect = SqlDialect.Standard) => SqlText.Format(sql, redactLiterals: true, maxLength: 10_000, dialect);

    [Theory]
    [InlineData("SELECT * FROM t1 WHERE name = 'it''s' AND id = $1", "SELECT * FROM t1 WHERE name = ? AND id = $1")]
    [InlineData("SELECT E'a\\'b' AS x, c FROM t1", "SELECT ? AS x, c FROM t1")]
    [InlineData("SELECT e'it\\'s \\\\' || 'x' FROM t1", "SELECT ? || ? FROM t1")]
    [InlineData("DO $$BEGIN PERFORM pg_sleep(1); RAISE 'it''s'; END$$", "DO ?")]
    [InlineData("SELECT $fn$ it's $$ not the end $fn$, @p0 FROM t1", "SELECT ?, @p0 FROM t1")]
    [InlineData("SELECT $a$x$a$, $b$y$b$", "SELECT ?, ?")]
    [InlineData("WHERE a = 42 AND b = 3.14 AND c = .5 AND d = 1e-3 AND e = 0x1F AND f = -7 AND g = 1_000", "WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ? AND f = -? AND g = ?")]
    [InlineData("SELECT 1::int, x::numeric FROM t1", "SELECT ?::int, x::numeric FROM t1")]
    [InlineData("SELECT N'unicode', X'FF', B'101', U&'d\\0061t' FROM t1", "SELECT ?, ?, ?, ? FROM t1")]
    public void Literals_are_replaced_by_a_question_mark(string sql, string expected) =>
        Assert.Equal(expected, Redact(sql));

    [Theory]
    [InlineData("SELECT c1 FROM t1 JOIN t2 ON t1.id = t2.t1_id WHERE t2.col3 = $1 AND t1.v2 = $12")]
    [InlineData("SELECT \"i\".\"Id\", \"i\".\"Name\" FROM \"Items\" AS \"i\" WHERE \"i\".\"Id\" = @__id_0 LIMIT @__p_1")]
    [InlineData("INSERT INTO t1 (a, b) VALUES (@p0, @p1) RETURNING id")]
    [InlineData("SELECT * FROM t1 WHERE a = :name AND b = ? AND c = ?2 AND d = $name")]
    [InlineData("SELECT \"it's\" FROM \"we''re\"")]
    [InlineData("SELECT @@ROWCOUNT, foo$bar FROM t1")]
    public void Placeholders_and_identifiers_are_left_as_written(string sql) =>
        Assert.Equal(sql, Redact(sql));

    [Fact]
    public void A_quote_in_a_line_comment_does_not_start_a_literal()
    {
        var sql = "SELECT a -- 'comment' it's\nFROM t1 WHERE b = 'secret' AND c = $1";

        Assert.Equal("SELECT a -- 'comment' it's\nFROM t1 WHERE b = ? AND c = $1", Redact(sql));
    }

    [Fact]
    public void A_quote_in_a_block_comment_does_not_start_a_literal()
    {
        var sql = "SELECT a /* 'x' /* nested it's */ still comment */ FROM t1 WHERE b = 'secret' AND c = 5";

        Assert.Equal("SELECT a /* 'x' /* nested it's */ still comment */ FROM t1 WHERE b = ? AND c = ?", Redact(sql));
    }

    [Fact]
    public void An_unclosed_literal_is_redacted_to_the_end()
    {
        Assert.Equal("SELECT ?", Redact("SELECT 'never closed, AND secret = 1"));
        Assert.Equal("SELECT ?", Redact("SELECT $$never closed"));
    }

    [Fact]
    public void Sql_server_brackets_and_mysql_backslashes_follow_their_dialect()
    {
        Assert.Equal("SELECT [it's] FROM [t1] WHERE x = ?", Redact("SELECT [it's] FROM [t1] WHERE x = N'y'", SqlDialect.SqlServer));
        Assert.Equal("SELECT `it's` FROM t1 WHERE x = ? AND y = ? # it's", Redact("SELECT `it's` FROM t1 WHERE x = 'a\\'b' AND y = \"c\" # it's", SqlDialect.MySql));
        Assert.Equal("SELECT [it's], `x` FROM t1 WHERE y = ?", Redact("SELECT [it's], `x` FROM t1 WHERE y = 'z'", SqlDialect.Sqlite));
    }

    [Fact]
    public void Text_is_kept_as_written_when_redaction_is_off()
    {
        const string sql = "SELECT * FROM t1 WHERE name = 'bob' AND id = 7";

        Assert.Same(sql, SqlText.Format(sql, redactLiterals: false, maxLength: 1000, SqlDialect.Standard));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Long_text_is_cut_to_the_maximum_length_ending_in_an_ellipsis(bool redact)
    {
        var sql = "SELECT " + string.Join(", ", Enumerable.Range(0, 500).Select(i => $"c{i}")) + " FROM t1";

        var text = SqlText.Format(sql, redact, maxLength: 100, SqlDialect.Standard);

        Assert.Equal(100, text.Length);
        Assert.Equal(sql[..99] + "…", text);
    }

    [Fact]
    public void Text_at_the_maximum_length_is_not_cut()
    {
        var sql = new string('a', 50);

        Assert.Equal(sql, SqlText.Format(sql, redactLiterals: true, maxLength: 50, SqlDialect.Standard));
    }

    [Fact]
    public void The_shape_hash_ignores_literal_values_comments_and_spacing()
    {
        var a = SqlText.ShapeHash("SELECT * FROM t1 WHERE id = 1 AND name = 'a'", SqlDialect.Standard);
        var b = SqlText.ShapeHash("SELECT *  FROM t1 /* retry */ WHERE id = 2345 AND name = 'it''s'", SqlDialect.Standard);
        var other = SqlText.ShapeHash("SELECT * FROM t2 WHERE id = 1 AND name = 'a'", SqlDialect.Standard);
        var placeholder = SqlText.ShapeHash("SELECT * FROM t1 WHERE id = $1 AND name = 'a'", SqlDialect.Standard);

        Assert.Equal(a, b);
        Assert.NotEqual(a, other);
        Assert.NotEqual(a, placeholder);
    }

    [Fact]
    public void Any_text_is_tokenized_without_error_and_never_exceeds_the_limit()
    {
        // Fragments that open and close every construct, in random order: unclosed quotes, nested comments, stray dollars.
        string[] parts = ["'", "''", "\"", "$$", "$a$", "$1", "@p0", "--", "\n", "/*", "*/", "E'", "\\", "[", "]", "`", "0x", "1.5e", "-", " ", "x", "?", ":", "U&'", "\uD83D\uDE00"];
        var random = new Random(42);
        foreach (var dialect in Enum.GetValues<SqlDialect>())
        {
            for (var n = 0; n < 2000; n++)
            {
                var text = string.Concat(Enumerable.Range(0, random.Next(0, 40)).Select(_ => parts[random.Next(parts.Length)]));
                var max = random.Next(1, 60);

                var formatted = SqlText.Format(text, redactLiterals: true, max, dialect);
                SqlText.ShapeHash(text, dialect);

                Assert.True(formatted.Length <= max, $"'{text}' formatted to {formatted.Length} > {max} characters");
                Assert.True(formatted.Length <= Math.Max(text.Length, 1));
            }
        }
    }
}
