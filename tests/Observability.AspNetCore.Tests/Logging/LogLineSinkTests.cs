using System.Text;
using Observability.AspNetCore.Logging;
using Observability.AspNetCore.Tests.Support;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Parsing;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>The stdout sink under concurrent writers: every line out exactly once, whole, in each writer's order.</summary>
public sealed class LogLineSinkTests
{
    [Fact]
    public async Task Concurrent_lines_and_events_all_arrive_whole_and_in_order()
    {
        var stdout = new CapturedLog();
        const int Writers = 6;
        const int LinesPerWriter = 3_000;
        var template = new MessageTemplateParser().Parse("Event {Writer} {Sequence}");

        using (var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter()))
        {
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
            {
                for (var i = 0; i < LinesPerWriter; i++)
                {
                    if (i % 10 == 0)
                    {
                        // A Serilog event among the direct lines, through the formatter.
                        sink.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Warning, null, template, [new("Writer", new ScalarValue(w)), new("Sequence", new ScalarValue(i))]));
                    }
                    else
                    {
                        // Lengths from a few bytes to past the 64 KB buffer, non-ASCII included.
                        var padding = i % 997 == 0 ? 70_000 : i % 50;
                        sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Writer\":{w},\"Sequence\":{i},\"Pad\":\"{new string('é', padding)}\"}}\n"));
                    }
                }
            }));
            await Task.WhenAll(writers);
        }

        var lastSequence = Enumerable.Repeat(-1, Writers).ToArray();
        var count = 0;
        foreach (var e in stdout.Events())
        {
            var writer = e.TryGetProperty("Writer", out var w) ? w.GetInt32() : throw new InvalidOperationException(e.GetRawText());
            var sequence = e.GetProperty("Sequence").GetInt32();
            Assert.Equal(lastSequence[writer] + 1, sequence);
            lastSequence[writer] = sequence;
            count++;
        }

        Assert.Equal(Writers * LinesPerWriter, count);
        Assert.True(stdout.Writes < count / 10, $"{count} lines took {stdout.Writes} writes");
    }

    [Fact]
    public async Task Lines_after_idle_spells_go_out_on_the_timer_without_dispose()
    {
        var stdout = new CapturedLog();
        using var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter());
        for (var i = 1; i <= 3; i++)
        {
            sink.WriteLine(Encoding.UTF8.GetBytes($"{{\"Sequence\":{i}}}\n"));
            await Poll.UntilAsync(() => stdout.Events().Count >= i);
            Assert.Equal(Enumerable.Range(1, i), stdout.Events().Select(e => e.GetProperty("Sequence").GetInt32()));

            // Long enough for ticks that find nothing to write, which stop the timer until the next line.
            await Task.Delay(LogLineSink.FlushInterval * 4);
        }
    }

    [Fact]
    public void Lines_written_after_dispose_are_dropped_without_an_exception()
    {
        var stdout = new CapturedLog();
        var sink = new LogLineSink(stdout.AsOutput(flushEachLine: false), new CompactJsonFormatter());
        sink.WriteLine("{\"a\":1}\n"u8);
        sink.Dispose();
        sink.WriteLine("{\"a\":2}\n"u8);
        sink.Dispose();

        Assert.Equal("{\"a\":1}\n", stdout.ToString());
    }
}
