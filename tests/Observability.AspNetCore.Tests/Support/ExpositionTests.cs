namespace Observability.AspNetCore.Tests.Support;

/// <summary>The tests' one reader of the text exposition reads it as Prometheus does, or every metrics test is suspect.</summary>
public sealed class ExpositionTests
{
    private const string Text = """
        # HELP orders_total Orders.
        # TYPE orders_total counter
        orders_total{route="/a",status="200"} 3
        orders_total{status="500",route="/a"} 2
        orders_total{route="/b",status="200"} 4 1700000000000
        quoted{path="C:\\dir \"x\"\nnext",note="a,b}c"} 1.5e3
        gauge_value NaN
        wait_seconds_bucket{le="+Inf"} +Inf
        """;

    [Fact]
    public void Label_order_is_irrelevant_and_values_are_unescaped()
    {
        var samples = Exposition.Parse(Text);

        Assert.Equal(2, samples.Single("orders_total", ("status", "500"), ("route", "/a")));
        Assert.Equal(1500, samples.Single("quoted", ("note", "a,b}c"), ("path", "C:\\dir \"x\"\nnext")));
        Assert.True(double.IsNaN(samples.Single("gauge_value")));
        Assert.Equal(double.PositiveInfinity, samples.Single("wait_seconds_bucket", ("le", "+Inf")));
    }

    [Fact]
    public void Value_sums_every_series_carrying_the_labels_and_is_0_for_none()
    {
        var samples = Exposition.Parse(Text);

        Assert.Equal(9, samples.Value("orders_total"));
        Assert.Equal(7, samples.Value("orders_total", ("status", "200")));
        Assert.Equal(0, samples.Value("orders_total", ("status", "404")));
    }

    [Fact]
    public void Single_wants_exactly_the_label_set_and_says_what_is_there_when_it_is_not()
    {
        var samples = Exposition.Parse(Text);

        var partial = Assert.ThrowsAny<Exception>(() => samples.Single("orders_total", ("status", "200")));
        Assert.Contains("Expected exactly one sample orders_total{status=\"200\"}, found 0", partial.Message, StringComparison.Ordinal);
        Assert.Contains("orders_total{route=\"/b\",status=\"200\"} 4", partial.Message, StringComparison.Ordinal);

        var twice = Exposition.Parse("up{job=\"a\"} 1\nup{job=\"a\"} 0\n");
        Assert.Contains("found 2", Assert.ThrowsAny<Exception>(() => twice.Single("up", ("job", "a"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Increase_since_counts_a_series_absent_before_from_0_but_requires_it_after()
    {
        var before = Exposition.Parse("hits_total{route=\"/a\"} 2\n");
        var after = Exposition.Parse("hits_total{route=\"/a\"} 5\nhits_total{route=\"/b\"} 4\n");

        Assert.Equal(3, after.IncreaseSince(before, "hits_total", ("route", "/a")));
        Assert.Equal(4, after.IncreaseSince(before, "hits_total", ("route", "/b")));
        Assert.ThrowsAny<Exception>(() => before.IncreaseSince(after, "hits_total", ("route", "/b")));
    }

    [Theory]
    [InlineData("orders_total{route=\"/a\" 3")]
    [InlineData("orders_total{route=/a} 3")]
    [InlineData("orders_total{route=\"/a\",route=\"/b\"} 3")]
    [InlineData("orders_total{route=\"\\t\"} 3")]
    [InlineData("orders_total three")]
    public void Malformed_sample_lines_fail_the_test(string line) =>
        Assert.ThrowsAny<Exception>(() => Exposition.Parse(line));
}
