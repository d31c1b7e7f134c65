using System.Runtime.InteropServices;

namespace Observability.AspNetCore.Logging;

/// <summary>
/// A write-only stream over a Unix file descriptor (1 for stdout, 2 for stderr), written with <c>write(2)</c>.
/// <see cref="Console.OpenStandardOutput()"/> takes a process-wide console lock around every write, to stdout and
/// stderr alike: one write blocked on a stdout nobody reads would hold every other console write, the stderr notice
/// that says so included. Handles <c>EINTR</c>, and <c>EAGAIN</c> on a descriptor a parent made non-blocking by waiting
/// until it is writable; any other error is an <see cref="IOException"/> (<c>EPIPE</c> when the reader is gone).
/// </summary>
internal sealed class FileDescriptorStream(int fd) : Stream
{
    private const int EINTR = 4;
    private const short POLLOUT = 4;

    private static readonly int EAGAIN = OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 35 : 11;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The stream for <paramref name="fd"/> on Unix; elsewhere (Windows) the console's own stream.</summary>
    public static Stream Open(int fd, Func<Stream> fallback) =>
        OperatingSystem.IsWindows() ? fallback() : new FileDescriptorStream(fd);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var offset = 0;
        while (offset < buffer.Length)
        {
            var written = NativeMethods.write(fd, ref MemoryMarshal.GetReference(buffer[offset..]), buffer.Length - offset);
            if (written >= 0)
            {
                offset += (int)written;
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR)
            {
                continue;
            }

            if (errno == EAGAIN)
            {
                var poll = new NativeMethods.PollFd { Fd = fd, Events = POLLOUT };
                NativeMethods.poll(ref poll, 1, -1);
                continue;
            }

            throw new IOException($"write(2) to file descriptor {fd} failed with errno {errno}.", errno);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
        // Nothing is buffered here.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern nint write(int fd, ref byte buffer, nint count);

        [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int poll(ref PollFd fds, nuint count, int timeout);

        [StructLayout(LayoutKind.Sequential)]
        public struct PollFd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }
    }
}
