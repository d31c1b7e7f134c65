using System.Globalization;
using System.Text;
using System.Text.Json;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>The hand-written JSON encoding of the completion line against the JSON parser and Serilog's number text.</summary>
public sealed class Utf8JsonLineTests
{
    [Fact]
    public void Milliseconds_are_the_text_serilog_writes_for_the_value_rounded_to_three_decimals()
    {
        var random = new Random(20261123);
        var values = new List<double> { 0, 0.0004, 0.0005, 0.0015, 0.001, 0.01, 0.1, 0.5, 1, 7, 12.5, 0.254, 999.9995, 1000, 59_999.999, 86_400_000.123, 1e11 + 0.25 };
        for (var i = 0; i < 20_000; i++)
        {
            values.Add(random.NextDouble() * Math.Pow(10, random.Next(-4, 9)));
        }

        foreach (var value in values)
        {
            var expected = Math.Round(value, 3).ToString("R", CultureInfo.InvariantCulture);
            Assert.Equal(expected, Encode(line => line.Milliseconds(value)));
        }
    }

    [Theory]
    [InlineData(-1.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(5e15)]
    public void Unexpected_milliseconds_are_still_a_json_number(double value)
    {
        var text = Encode(line => line.Milliseconds(value));

        Assert.Equal(JsonValueKind.Number, JsonDocument.Parse(text).RootElement.ValueKind);
    }

    [Fact]
    public void Any_string_round_trips_through_the_json_parser()
    {
        var random = new Random(7);
        var samples = new List<string> { string.Empty, "plain", "\"quoted\"", "back\\slash", "\u0000\u0001\u001f\u007f", "\n\r\t\b\f", "é€😀", "\ud800 lone high", "lone low \udc00", "</script>&'" };
        for (var i = 0; i < 2_000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = (char)random.Next(0, 0x10000);
            }

            samples.Add(new string(chars));
        }

        foreach (var value in samples)
        {
            var text = Encode(line => line.String(value));

            // Lone surrogates cannot be UTF-8: they become U+FFFD, as Encoding.UTF8 writes them.
            var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(value));
            Assert.Equal(expected, JsonDocument.Parse(text).RootElement.GetString());
        }
    }

    private static string Encode(Action<Utf8JsonLineWriter> write)
    {
        var writer = new Utf8JsonLineWriter();
        write(writer);
        return writer.Text;
    }

    /// <summary>A lambda cannot capture the ref struct; this holds its buffer and hands out a fresh line per call.</summary>
    private sealed class Utf8JsonLineWriter
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _length;

        public string Text => Encoding.UTF8.GetString(_buffer, 0, _length);

        public void Milliseconds(double value)
        {
            var line = new Utf8JsonLine(_buffer);
            line.Milliseconds(value);
            _length = line.Length;
        }

        public void String(string value)
        {
            var line = new Utf8JsonLine(_buffer);
            line.String(value);
            _length = line.Length;
        }
    }
}
