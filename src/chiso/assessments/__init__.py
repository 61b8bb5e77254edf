"""Assessment rounds (đợt đánh giá): self-assessment, evidence, appraisal, approval, surveys,
results and rankings of the assessed indexes (DTI, PAR Index, SIPAS, provincial variants)."""
