// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MockAggregatorV3
/// @notice Test and local-chain stand-in for a Chainlink AggregatorV3Interface price feed: every field of
///         the latest round (answer, decimals, round id, timestamps) can be set, so that off-chain readers
///         can be tested against stale, negative and incomplete answers.
contract MockAggregatorV3 {
    /// @notice One round of the feed, as `getRoundData` and `latestRoundData` return it.
    struct Round {
        /// @notice The price, scaled by `10 ** decimals`.
        int256 answer;
        /// @notice When the round started (unix seconds).
        uint256 startedAt;
        /// @notice When the answer was last updated (unix seconds); zero marks an incomplete round.
        uint256 updatedAt;
        /// @notice The round in which the answer was computed.
        uint80 answeredInRound;
        /// @notice Whether the round was ever written.
        bool recorded;
    }

    /// @notice Interface version reported by `version()` (Chainlink's current aggregators report 4).
    uint256 public constant version = 4;

    /// @notice Number of decimals of `answer`.
    uint8 public decimals;
    /// @notice Human-readable pair, e.g. "ETH / USD".
    string public description;
    /// @notice Id of the latest round.
    uint80 public latestRound;
    /// @notice Every round written so far, by id.
    mapping(uint80 roundId => Round round) private _rounds;

    /// @notice Emitted when a round is written.
    /// @param roundId The round written.
    /// @param answer The new answer.
    /// @param updatedAt The new update time.
    event RoundSet(uint80 indexed roundId, int256 answer, uint256 updatedAt);

    /// @notice Raised when a round that was never written is asked for.
    /// @param roundId The round asked for.
    error RoundNotFound(uint80 roundId);
    /// @notice Raised when round id zero is written (real feeds start at one).
    error ZeroRoundId();

    /// @notice Creates the feed with a first round holding `initialAnswer`, updated now.
    /// @param decimals_ Decimals of the answer.
    /// @param description_ Human-readable pair.
    /// @param initialAnswer Answer of round one.
    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        _setRound(1, initialAnswer, block.timestamp, block.timestamp, 1);
    }

    /// @notice Starts a new complete round with `answer`, updated at the current block time.
    /// @param answer The new answer, scaled by `10 ** decimals`.
    function updateAnswer(int256 answer) external {
        uint80 roundId = latestRound + 1;
        _setRound(roundId, answer, block.timestamp, block.timestamp, roundId);
    }

    /// @notice Writes any round data, which becomes the latest round (for stale or incomplete answers).
    /// @param roundId The round id; not zero.
    /// @param answer The answer, scaled by `10 ** decimals`.
    /// @param startedAt When the round started.
    /// @param updatedAt When the answer was updated; zero for an incomplete round.
    /// @param answeredInRound The round in which the answer was computed.
    function setRoundData(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) external {
        if (roundId == 0) revert ZeroRoundId();
        _setRound(roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    /// @notice Changes the number of decimals the answer is reported with.
    /// @param decimals_ The new number of decimals.
    function setDecimals(uint8 decimals_) external {
        decimals = decimals_;
    }

    /// @notice The data of round `roundId`.
    /// @param roundId The round asked for.
    /// @return The round id, answer, start time, update time and the round the answer was computed in.
    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        return _round(roundId);
    }

    /// @notice The data of the latest round.
    /// @return The round id, answer, start time, update time and the round the answer was computed in.
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return _round(latestRound);
    }

    /// @notice Stores a round and makes it the latest.
    function _setRound(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) internal {
        _rounds[roundId] = Round(answer, startedAt, updatedAt, answeredInRound, true);
        latestRound = roundId;
        emit RoundSet(roundId, answer, updatedAt);
    }

    /// @notice A stored round as the five-value tuple of AggregatorV3Interface.
    function _round(uint80 roundId) internal view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage r = _rounds[roundId];
        if (!r.recorded) revert RoundNotFound(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }
}
