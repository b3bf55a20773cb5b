# The course's repository, with scanning, tag mutability, an optional lifecycle policy, and the tags that
# publish_ecr passes (the project and environment that own it; set on create, so a killed apply is recovered).
resource "aws_ecr_repository" "repositorio" {
  #checkov:skip=CKV_AWS_51:The course pushes V1 again on every rebuild; deploy_ecs pins the digest, so a moved tag never changes what runs (mutabilidade_tags IMMUTABLE forbids it).
  #checkov:skip=CKV_AWS_136:Encrypted with AES256 by ECR; kms_chave gives a customer key (a new repository: ECR sets encryption at creation only).
  name                 = var.nome
  image_tag_mutability = var.mutabilidade_tags
  tags                 = var.etiquetas

  dynamic "encryption_configuration" {
    for_each = var.kms_chave == "" ? [] : [var.kms_chave]
    content {
      encryption_type = "KMS"
      kms_key         = encryption_configuration.value
    }
  }

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }
}

resource "aws_ecr_lifecycle_policy" "limpeza" {
  count      = var.manter_ultimas_imagens > 0 ? 1 : 0
  repository = aws_ecr_repository.repositorio.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.manter_ultimas_imagens
        }
        action = { type = "expire" }
      },
    ]
  })
}
