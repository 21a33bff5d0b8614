"""Domain errors. Each carries a message in Vietnamese, the product's language, for the views."""

from __future__ import annotations


class DomainError(Exception):
    """Base of all domain errors; str(error) is a message fit to show the user."""

    message = "Thao tác không hợp lệ."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class InvalidInput(DomainError):
    """Input that fails validation; nothing was changed."""

    message = "Dữ liệu nhập vào không hợp lệ."


class ElectionNotFound(DomainError):
    """No election with that id."""

    message = "Không tìm thấy cuộc lấy phiếu."


class WrongElectionState(DomainError):
    """The action is not allowed in the election's current state."""

    message = "Không thể thực hiện thao tác này ở trạng thái hiện tại của cuộc lấy phiếu."


class QuorumNotMet(DomainError):
    """Fewer than two thirds of those convened are present (QĐ 96)."""

    message = "Chưa đủ 2/3 số người được triệu tập có mặt: chưa thể bắt đầu bỏ phiếu."


class VoterNotFound(DomainError):
    """No voter with that id on the roster."""

    message = "Không tìm thấy người này trong danh sách ghi phiếu."


class AlreadyHasSlip(DomainError):
    """The voter already holds a slip; a second one needs the first voided."""

    message = "Người này đã được phát phiếu. Muốn phát lại, phải thu hồi và hủy phiếu cũ."


class TokenInvalid(DomainError):
    """The code is malformed, unknown or belongs to another election."""

    message = "Mã phiếu không đúng. Vui lòng kiểm tra lại hoặc liên hệ bàn phát phiếu."


class TokenAlreadySpent(DomainError):
    """The slip has already been used to cast a ballot."""

    message = "Phiếu này đã được sử dụng. Mỗi phiếu chỉ dùng một lần."


class CastAlreadyRecorded(DomainError):
    """A retried cast (same cast id) of a slip whose ballot is already stored: nothing to do."""

    message = "Phiếu của đồng chí đã được ghi nhận ở lần gửi trước."


class TokenVoided(DomainError):
    """The slip was voided (spoiled, replaced or unused at close)."""

    message = "Phiếu này đã bị hủy và không còn giá trị."


class ElectionNotOpen(DomainError):
    """Ballots can only be cast while the vote is open."""

    message = "Cuộc bỏ phiếu hiện không mở. Vui lòng chờ chủ trì hội nghị."


class BallotIncomplete(DomainError):
    """A ballot must mark exactly one level for every person."""

    message = "Phiếu chưa hợp lệ: phải chọn đúng một mức tín nhiệm cho mỗi người."


class ShareError(DomainError):
    """A key share is malformed, wrong or belongs to another election."""

    message = "Mảnh khóa không hợp lệ."


class BoxInvalid(DomainError):
    """The sealed ballot box failed verification."""

    message = "Hòm phiếu không hợp lệ."


class SlipNotIssuedToVoter(DomainError):
    """The slip handed back for voiding was not issued to the voter on that row; nothing changed."""

    message = "Phiếu này không phải phiếu đã phát cho người này; không hủy."


class HolderKeyLost(DomainError):
    """The key that ties this voter's slip to them is gone (the machine restarted): no void."""

    message = ("Không kiểm tra được phiếu này có đúng là phiếu đã phát cho người này hay không: "
               "khóa tạm trong bộ nhớ của máy đã mất khi máy khởi động lại, nên phiếu phát trước "
               "lúc đó không hủy được trên máy; chưa thay đổi gì. Người ghi phiếu dùng tiếp phiếu "
               "đó (quét không được thì gõ mã); nếu phiếu không dùng được nữa, Ban kiểm phiếu ghi "
               "vào biên bản như phiếu bị mất (docs/runbook.md).")


class HolderKeyUnavailable(DomainError):
    """The desk's in-memory key file cannot be made or read safely; nothing changed."""

    message = ("Máy không giữ được khóa tạm của bàn phát phiếu (thư mục trong /dev/shm thiếu "
               "hoặc không an toàn); chưa thay đổi gì. Báo tổ kỹ thuật (docs/runbook.md).")


class VoterLeft(DomainError):
    """The voter was recorded as having left before the vote: no slip is issued again."""

    message = ("Người này đã được ghi là rời hội nghị trước thời điểm bỏ phiếu (phiếu đã thu hồi và "
               "hủy); không phát phiếu lại.")


class MeetingDateNotToday(DomainError):
    """The meeting date of the election is not today's date: the chair must confirm before opening."""

    message = "Ngày hội nghị ghi trong cuộc lấy phiếu không phải hôm nay: chủ trì cần xác nhận trước khi mở."
