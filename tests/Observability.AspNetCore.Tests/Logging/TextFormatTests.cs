using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// The Text format is read by people and by line-based tools: a value that carries a newline must not be able to start
/// a line that looks like an event of its own.
/// </summary>
public sealed class TextFormatTests
{
    private const string Forged = "[12:00:00.000 ERR] FORGED";

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(
        app =>
        {
            app.MapGet("/log", (string value, ILogger<TextFormatTests> logger) =>
            {
                logger.LogWarning("Handler got {Value}", value);
                return "ok";
            });
            app.MapGet("/boom", string () => throw new InvalidOperationException("boom\n" + Forged + " in a message\r\nand \u001b[31mcolour"));
            app.MapGet("/{**rest}", () => "any");
        },
        new Dictionary<string, string?> { ["Observability:Logging:Format"] = "Text" });

    [Fact]
    public async Task A_newline_in_the_path_cannot_start_a_forged_event_line()
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync("/x%0a[12:00:00.000%20ERR]%20FORGED");
        var line = await LineContainingAsync(app, "FORGED");

        AssertNoForgedLine(app.Output);
        Assert.StartsWith("[", line, StringComparison.Ordinal);
        Assert.Contains("/x\\n" + Forged, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Control_characters_in_a_logged_value_are_escaped()
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync("/log?value=" + Uri.EscapeDataString("a\r\n" + Forged + "\tb\u001b[2J\u2028c"));
        var line = await LineContainingAsync(app, "Handler got");

        AssertNoForgedLine(app.Output);
        Assert.Contains("a\\r\\n" + Forged + "\\tb\\u001b[2J\\u2028c", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_exception_follows_as_indented_continuation_lines_with_its_message_escaped()
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync("/boom");
        await LineContainingAsync(app, "at ");

        AssertNoForgedLine(app.Output);
        var lines = app.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var first = Array.FindIndex(lines, l => l.Contains("System.InvalidOperationException", StringComparison.Ordinal));
        Assert.True(first > 0, app.Output);
        Assert.StartsWith("[", lines[first - 1], StringComparison.Ordinal);
        Assert.Equal("    System.InvalidOperationException: boom", lines[first]);
        Assert.Equal("    " + Forged + " in a message", lines[first + 1]);
        Assert.Equal("    and \\u001b[31mcolour", lines[first + 2]);
        Assert.StartsWith("       at ", lines[first + 3], StringComparison.Ordinal);
    }

    /// <summary>Every line is an event (starts with <c>[</c>) or a continuation (starts with spaces); no event line is the forged one.</summary>
    private static void AssertNoForgedLine(string output)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith('[') || line.StartsWith("    ", StringComparison.Ordinal), $"A line that is neither an event nor a continuation: {line}");
            Assert.False(line.StartsWith(Forged, StringComparison.Ordinal), $"A forged event line:\n{output}");
        }
    }

    private static async Task<string> LineContainingAsync(TestApp app, string text)
    {
        await Poll.UntilAsync(() => app.Output.Contains(text, StringComparison.Ordinal));
        return app.Output.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal));
    }
}
