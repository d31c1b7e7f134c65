using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Tests.Logging;

public sealed class StderrNoticeTests
{
    [Theory]
    [InlineData(
        "Observability: the metrics bridge reached 1000 series for Shop/hits; measurements with new tag values are dropped",
        "Observability: the metrics bridge reached 1000 series for Shop/hits; measurements with new tag values are dropped")]
    [InlineData(
        "Unable to find a method called Fil. Candidate methods are: File",
        "Observability: Serilog: Unable to find a method called Fil. Candidate methods are: File")]
    public void A_notice_says_once_who_wrote_it(string selfLogMessage, string line)
    {
        Assert.Equal(line, StderrSelfLog.NoticeFor(selfLogMessage));
    }
}
