# The service's files (ECR_DEPLOY["ECS"]["STORAGE"]): one private bucket, its uploads under media/ and, when asked,
# its static files under static/. The task role may read, write, delete and list in it, and nothing else; destroy_ecs
# keeps it and its objects unless --delete-storage.
resource "aws_s3_bucket" "arquivos" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket and cost per request; CloudTrail data events are the option for an audit.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles the storage's cost; versions (kept armazenamento_versoes_dias) undo a deletion.
  #checkov:skip=CKV_AWS_145:SSE-S3 encrypts every object at no cost; a KMS key costs USD 1 a month and a request charge on every read.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of new files.
  count  = var.armazenamento ? 1 : 0
  bucket = "${local.nome_global}-arquivos-${data.aws_caller_identity.conta.account_id}"
  tags   = var.etiquetas
}

resource "aws_s3_bucket_ownership_controls" "arquivos" {
  count  = var.armazenamento ? 1 : 0
  bucket = aws_s3_bucket.arquivos[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "arquivos" {
  count                   = var.armazenamento ? 1 : 0
  bucket                  = aws_s3_bucket.arquivos[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "arquivos" {
  count  = var.armazenamento ? 1 : 0
  bucket = aws_s3_bucket.arquivos[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "arquivos" {
  count  = var.armazenamento ? 1 : 0
  bucket = aws_s3_bucket.arquivos[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "arquivos" {
  count  = var.armazenamento ? 1 : 0
  bucket = aws_s3_bucket.arquivos[0].id

  rule {
    id     = "versoes-antigas"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.armazenamento_versoes_dias
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.arquivos]
}

resource "aws_s3_bucket_policy" "arquivos" {
  count  = var.armazenamento ? 1 : 0
  bucket = aws_s3_bucket.arquivos[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "HttpsOnly"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.arquivos[0].arn, "${aws_s3_bucket.arquivos[0].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.arquivos]
}

resource "aws_iam_role_policy" "arquivos" {
  count = var.armazenamento ? 1 : 0
  name  = "arquivos"
  role  = aws_iam_role.tarefa.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [aws_s3_bucket.arquivos[0].arn]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = ["${aws_s3_bucket.arquivos[0].arn}/*"]
      },
    ]
  })
}
