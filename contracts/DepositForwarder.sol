// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice What a forwarder asks its creator for: the transfers to make from the deposit address.
interface IDepositJob {
    /// @notice The job of the forwarder being created: `amounts[i]` of `token` (address(0) = native
    ///         coin) to `recipients[i]`, then any native coin left to `remainderTo`.
    /// @return token Token moved, address(0) for the native coin.
    /// @return recipients Receivers of the transfers.
    /// @return amounts Amount of each transfer.
    /// @return remainderTo Receiver of the native coin left at the address (the merchant).
    function depositJob()
        external
        view
        returns (address token, address[] memory recipients, uint256[] memory amounts, address remainderTo);
}

/// @title DepositForwarder
/// @notice The code a deposit address runs, once per sweep, in the transaction that sweeps it: created
///         by SluiceDeposits with CREATE2 (a salt committing to the intent's terms), it makes the
///         transfers its creator hands it and self-destructs. Created and destroyed in the same
///         transaction, the account is deleted (EIP-6780), so the address holds no code afterwards and a
///         later payment to it can be swept the same way.
/// @dev No constructor arguments: the init code, and so its hash in the CREATE2 address, is one
///      constant. Only SluiceDeposits can create code at its deposit addresses, so the forwarder trusts
///      its creator (`msg.sender`) for the job. A failed transfer reverts the creation: the funds stay.
contract DepositForwarder {
    using SafeERC20 for IERC20;

    /// @notice Raised when sending the native coin to a recipient failed.
    error NativeTransferFailed(address recipient, uint256 amount);

    /// @notice Makes the creator's transfers from this address, then deletes it.
    constructor() payable {
        (address token, address[] memory recipients, uint256[] memory amounts, address remainderTo) =
            IDepositJob(msg.sender).depositJob();
        for (uint256 i; i < recipients.length; ++i) {
            uint256 amount = amounts[i];
            if (amount == 0) continue;
            if (token == address(0)) {
                (bool ok,) = recipients[i].call{value: amount}("");
                if (!ok) revert NativeTransferFailed(recipients[i], amount);
            } else {
                IERC20(token).safeTransfer(recipients[i], amount);
            }
        }
        // Deleted at the end of this transaction (EIP-6780); native coin left goes to `remainderTo`.
        selfdestruct(payable(remainderTo));
    }
}
