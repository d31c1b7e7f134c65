using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Text;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// Appends JSON text as UTF-8 to a span sized by the caller (see <see cref="MaxEscapedBytes"/>): no encoder, no
/// <see cref="TextWriter"/>, no intermediate strings. Strings are escaped as RFC 8259 requires (quote, backslash and
/// control characters); other characters, non-ASCII included, are written as UTF-8, as Serilog's JSON formatters do.
/// </summary>
internal ref struct Utf8JsonLine
{
    /// <summary>Characters that can be copied as one byte each: printable ASCII except the quote and the backslash.</summary>
    private static readonly SearchValues<char> PlainAscii = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~\u007f");

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    private readonly Span<byte> _buffer;
    private int _position;

    public Utf8JsonLine(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Length => _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    /// <summary>The most bytes <see cref="String(ReadOnlySpan{char})"/> writes for a string of this length, quotes included.</summary>
    public static int MaxEscapedBytes(int length) => (length * 6) + 2;

    /// <summary>The JSON string literal of <paramref name="value"/>, quotes included, as UTF-8 (for text encoded once and reused).</summary>
    public static byte[] Encode(string value)
    {
        var buffer = new byte[MaxEscapedBytes(value.Length)];
        var line = new Utf8JsonLine(buffer);
        line.String(value);
        return buffer[..line.Length];
    }

    public void Raw(ReadOnlySpan<byte> utf8)
    {
        utf8.CopyTo(_buffer[_position..]);
        _position += utf8.Length;
    }

    /// <summary>A quoted, escaped JSON string.</summary>
    public void String(ReadOnlySpan<char> value)
    {
        _buffer[_position++] = (byte)'"';
        StringBody(value);
        _buffer[_position++] = (byte)'"';
    }

    /// <summary>Two strings as one quoted, escaped JSON string (a path base and a path, without joining them first).</summary>
    public void String(ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        _buffer[_position++] = (byte)'"';
        StringBody(first);
        StringBody(second);
        _buffer[_position++] = (byte)'"';
    }

    private void StringBody(ReadOnlySpan<char> value)
    {
        while (!value.IsEmpty)
        {
            var plain = value.IndexOfAnyExcept(PlainAscii);
            if (plain < 0)
            {
                plain = value.Length;
            }

            if (plain > 0)
            {
                Ascii.FromUtf16(value[..plain], _buffer[_position..], out var written);
                _position += written;
                value = value[plain..];
                continue;
            }

            var c = value[0];
            if (c < 0x80)
            {
                Escape(c);
                value = value[1..];
            }
            else
            {
                // Invalid UTF-16 (a lone surrogate) becomes U+FFFD, as Encoding.UTF8 would write it.
                Rune.DecodeFromUtf16(value, out var rune, out var consumed);
                _position += rune.EncodeToUtf8(_buffer[_position..]);
                value = value[consumed..];
            }
        }
    }

    /// <summary>An ASCII-only string known to need no escaping (hex IDs), quoted.</summary>
    public void AsciiString(ReadOnlySpan<char> value)
    {
        _buffer[_position++] = (byte)'"';
        Ascii.FromUtf16(value, _buffer[_position..], out var written);
        _position += written;
        _buffer[_position++] = (byte)'"';
    }

    public void Number(int value)
    {
        Utf8Formatter.TryFormat(value, _buffer[_position..], out var written);
        _position += written;
    }

    /// <summary>The shortest text that round-trips, as Serilog writes a double; a non-finite value (never expected) as 0.</summary>
    public void Number(double value)
    {
        if (!double.IsFinite(value))
        {
            value = 0;
        }

        value.TryFormat(_buffer[_position..], out var written, default, CultureInfo.InvariantCulture);
        _position += written;
    }

    /// <summary>
    /// Milliseconds rounded to 3 decimals, as the same text Serilog writes for <c>Math.Round(value, 3)</c> (the shortest
    /// round-trip form: <c>12.5</c>, <c>0.254</c>, <c>7</c>) but built from integers: double formatting costs ~70 ns a
    /// value under load, this a few. Negative, huge or non-finite values (never expected) take the general path.
    /// </summary>
    public void Milliseconds(double value)
    {
        var rounded = Math.Round(value, 3);
        if (!(rounded >= 0 && rounded < 1e12))
        {
            Number(rounded);
            return;
        }

        var thousandths = (long)Math.Round(rounded * 1000);
        var whole = thousandths / 1000;
        var fraction = (int)(thousandths % 1000);
        Utf8Formatter.TryFormat(whole, _buffer[_position..], out var written);
        _position += written;
        if (fraction == 0)
        {
            return;
        }

        _buffer[_position++] = (byte)'.';
        _buffer[_position++] = (byte)('0' + (fraction / 100));
        fraction %= 100;
        if (fraction != 0)
        {
            _buffer[_position++] = (byte)('0' + (fraction / 10));
            if (fraction % 10 != 0)
            {
                _buffer[_position++] = (byte)('0' + (fraction % 10));
            }
        }
    }

    /// <summary>The round-trip ("O") form of a UTC time, e.g. <c>"2026-11-23T06:08:02.1245383Z"</c>.</summary>
    public void UtcTimestamp(DateTime utc)
    {
        _buffer[_position++] = (byte)'"';
        Utf8Formatter.TryFormat(utc, _buffer[_position..], out var written, new StandardFormat('O'));
        _position += written;
        _buffer[_position++] = (byte)'"';
    }

    /// <summary>An IP address as a quoted string; its text never needs escaping.</summary>
    public void IPAddress(IPAddress address)
    {
        _buffer[_position++] = (byte)'"';
        address.TryFormat(_buffer[_position..], out var written);
        _position += written;
        _buffer[_position++] = (byte)'"';
    }

    private void Escape(char c)
    {
        var b = _buffer;
        b[_position++] = (byte)'\\';
        switch (c)
        {
            case '"': b[_position++] = (byte)'"'; break;
            case '\\': b[_position++] = (byte)'\\'; break;
            case '\n': b[_position++] = (byte)'n'; break;
            case '\r': b[_position++] = (byte)'r'; break;
            case '\t': b[_position++] = (byte)'t'; break;
            case '\b': b[_position++] = (byte)'b'; break;
            case '\f': b[_position++] = (byte)'f'; break;
            default:
                b[_position++] = (byte)'u';
                b[_position++] = (byte)'0';
                b[_position++] = (byte)'0';
                b[_position++] = HexDigits[c >> 4];
                b[_position++] = HexDigits[c & 0xF];
                break;
        }
    }
}
