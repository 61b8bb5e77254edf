"""Technical deductions (điểm trừ kỹ thuật): points entered by hand on a unit's index score."""
